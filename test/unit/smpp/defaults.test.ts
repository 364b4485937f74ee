/** The bind defaults are defined once (lib/smpp/defaults.ts) and the editor, the node and lib/ all show them. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { SMPP_BIND_DEFAULTS } from "../../../lib/smpp/defaults";
import { sessionOptions } from "../../../nodes/smpp-bind/smpp-bind";

// dist/test/unit/smpp → dist/nodes: the editor file as the build wrote it.
const editorFile = path.resolve(__dirname, "../../../nodes/smpp-bind/smpp-bind.html");

test("the built editor file offers the lib/ defaults and has no token left", () => {
  const html = readFileSync(editorFile, "utf8");
  assert.doesNotMatch(html, /__DEFAULT_/);
  const shown = (field: string) => Number(new RegExp(`${field}: \\{ value: ([0-9.]+)`).exec(html)?.[1]);
  assert.deepEqual(
    {
      enquireLinkSeconds: shown("enquireLink"),
      responseTimeoutSeconds: shown("responseTimeout"),
      window: shown("window"),
      throughput: shown("throughput"),
    },
    SMPP_BIND_DEFAULTS,
  );
});

test("the built help pages, in every language, name the same default window", () => {
  for (const lang of ["en-US", "pt-BR", "ru"]) {
    const help = readFileSync(path.resolve(editorFile, "..", "locales", lang, "smpp-bind.html"), "utf8");
    assert.doesNotMatch(help, /__DEFAULT_/, lang);
    assert.match(help, new RegExp(`(default|padrão|по умолчанию) ${SMPP_BIND_DEFAULTS.window}\\)`), lang);
  }
});

test("the node fills empty fields with the same defaults", () => {
  const built = sessionOptions({ host: "smsc", port: 2775, enquireLink: "", responseTimeout: "", window: "", throughput: "" }, { systemId: "a", password: "b" });
  assert.ok("options" in built);
  assert.equal(built.options.enquireLinkMs, SMPP_BIND_DEFAULTS.enquireLinkSeconds * 1000);
  assert.equal(built.options.responseTimeoutMs, SMPP_BIND_DEFAULTS.responseTimeoutSeconds * 1000);
  assert.equal(built.options.window, SMPP_BIND_DEFAULTS.window);
  assert.equal(built.options.throughput, SMPP_BIND_DEFAULTS.throughput);
});
