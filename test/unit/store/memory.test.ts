import { openStore } from "../../../lib/store/index";
import { storeSemantics } from "./semantics";

// Through openStore, as the nodes use it: a fresh memory store per test (its own url).
let opened = 0;
storeSemantics("memory", { open: (ttlMs) => openStore({ url: `memory:semantics-${++opened}`, ttlMs }) });
