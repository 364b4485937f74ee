import { MemoryStore } from "../../../lib/store/memory";
import { storeSemantics } from "./semantics";

storeSemantics("memory", { open: async (ttlMs) => new MemoryStore(ttlMs) });
