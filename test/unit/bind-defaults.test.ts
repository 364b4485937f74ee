/**
 * Each SMSC bind's defaults are defined once (lib/smpp/defaults.ts, lib/ucp/defaults.ts) and the
 * editor, the node and lib/ all show them (decision 21).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { SMPP_BIND_DEFAULTS } from "../../lib/smpp/defaults";
import { UCP_BIND_DEFAULTS } from "../../lib/ucp/defaults";
import { sessionOptions } from "../../nodes/smpp-bind/smpp-bind";
import { ucpSessionOptions } from "../../nodes/ucp-bind/ucp-bind";

interface Bind {
  type: string;
  defaults: Readonly<Record<string, number>>;
  /** Editor field of each default. */
  fields: Record<string, string>;
  /** The node's options with every such field empty, in the session's units (ms for seconds). */
  emptied(): Record<string, unknown>;
  /** Session option of each default. */
  options: Record<string, string>;
}

const BINDS: Bind[] = [
  {
    type: "smpp-bind",
    defaults: SMPP_BIND_DEFAULTS,
    fields: { enquireLinkSeconds: "enquireLink", responseTimeoutSeconds: "responseTimeout", window: "window", throughput: "throughput" },
    options: { enquireLinkSeconds: "enquireLinkMs", responseTimeoutSeconds: "responseTimeoutMs", window: "window", throughput: "throughput" },
    emptied() {
      const built = sessionOptions({ host: "smsc", port: 2775, enquireLink: "", responseTimeout: "", window: "", throughput: "" }, { systemId: "a", password: "b" });
      assert.ok("options" in built);
      return built.options as unknown as Record<string, unknown>;
    },
  },
  {
    type: "ucp-bind",
    defaults: UCP_BIND_DEFAULTS,
    fields: { window: "window", responseTimeoutSeconds: "responseTimeout", keepAliveSeconds: "keepAlive", inactivityTimeoutSeconds: "inactivityTimeout", throughput: "throughput", reconnectMaxSeconds: "reconnectMax" },
    options: { window: "window", responseTimeoutSeconds: "responseTimeoutMs", keepAliveSeconds: "keepAliveMs", inactivityTimeoutSeconds: "inactivityTimeoutMs", throughput: "throughput", reconnectMaxSeconds: "reconnectMaxMs" },
    emptied() {
      const built = ucpSessionOptions({ host: "smsc", port: 2775, window: "", responseTimeout: "", keepAlive: "", inactivityTimeout: "", throughput: "", reconnectMax: "" }, { username: "a", password: "b" });
      assert.ok("options" in built);
      return built.options as unknown as Record<string, unknown>;
    },
  },
];

for (const bind of BINDS) {
  // dist/test/unit → dist/nodes: the editor file as the build wrote it.
  const editorFile = path.resolve(__dirname, `../../nodes/${bind.type}/${bind.type}.html`);

  describe(bind.type, () => {
    test("the built editor file offers the lib/ defaults and has no token left", () => {
      const html = readFileSync(editorFile, "utf8");
      assert.doesNotMatch(html, /__DEFAULT_/);
      const shown = Object.fromEntries(Object.entries(bind.fields).map(([name, field]) => [name, Number(new RegExp(`${field}: \\{ value: ([0-9.]+)`).exec(html)?.[1])]));
      assert.deepEqual(shown, { ...bind.defaults });
    });

    test("the built help pages, in every language, name the same default window", () => {
      for (const lang of ["en-US", "pt-BR", "ru"]) {
        const help = readFileSync(path.resolve(editorFile, "..", "locales", lang, `${bind.type}.html`), "utf8");
        assert.doesNotMatch(help, /__DEFAULT_/, lang);
        assert.match(help, new RegExp(`(default|padrão|по умолчанию) ${bind.defaults.window}\\)`), lang);
      }
    });

    test("the node fills empty fields with the same defaults", () => {
      const options = bind.emptied();
      for (const [name, option] of Object.entries(bind.options)) {
        const value = bind.defaults[name];
        assert.equal(options[option], option.endsWith("Ms") ? value * 1000 : value, name);
      }
    });
  });
}
