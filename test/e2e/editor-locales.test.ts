/**
 * The message catalogues and help of every node type (package.json `node-red.nodes`) exist in
 * English, Brazilian Portuguese and Russian, with the same keys and the same help sections.
 * The browser test sees only the keys a dialog uses; this one also covers status texts, warnings
 * and errors, which the runtime looks up (RED._) and which no dialog shows.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { declaredNodeTypes, PACKAGE_ROOT } from "../../sim/node-red";

const LANGUAGES = ["en-US", "pt-BR", "ru"];

/** "a.b.c" for every string in a catalogue, with the placeholders (__count__) each one uses. */
function flatten(value: unknown, prefix = ""): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  if (typeof value === "string") {
    keys.set(prefix, [...value.matchAll(/__(\w+)__/g)].map((m) => m[1]).sort());
  } else if (value && typeof value === "object") {
    for (const [key, child] of Object.entries(value)) {
      for (const [k, v] of flatten(child, prefix ? `${prefix}.${key}` : key)) keys.set(k, v);
    }
  }
  return keys;
}

/** The section headings of a help file, markdown (###) or HTML (<h3>). */
function sections(help: string): number {
  return (help.match(/^\s*###\s|<h3[\s>]/gm) ?? []).length;
}

for (const type of declaredNodeTypes()) {
  test(`${type}: catalogue and help in ${LANGUAGES.join(", ")}`, () => {
    const locales = path.join(PACKAGE_ROOT, "nodes", type, "locales");
    const english = flatten(JSON.parse(fs.readFileSync(path.join(locales, "en-US", `${type}.json`), "utf8")));
    const englishHelp = fs.readFileSync(path.join(locales, "en-US", `${type}.html`), "utf8");
    assert.match(englishHelp, new RegExp(`data-help-name="${type}"`), "help in locales/en-US, where Node-RED looks for it");
    // Help in locales/ is only read when the editor file has none for that language: keep one place.
    assert.doesNotMatch(fs.readFileSync(path.join(PACKAGE_ROOT, "nodes", type, `${type}.html`), "utf8"), /data-help-name=/, "no help left in the editor file");

    for (const lang of LANGUAGES.slice(1)) {
      const file = path.join(locales, lang, `${type}.json`);
      assert.ok(fs.existsSync(file), `${lang}/${type}.json`);
      const translated = flatten(JSON.parse(fs.readFileSync(file, "utf8")));
      assert.deepEqual([...translated.keys()].sort(), [...english.keys()].sort(), `${lang}: same keys as en-US`);
      for (const [key, placeholders] of english) assert.deepEqual(translated.get(key), placeholders, `${lang} ${key}: same placeholders`);

      const helpFile = path.join(locales, lang, `${type}.html`);
      assert.ok(fs.existsSync(helpFile), `${lang}/${type}.html`);
      const help = fs.readFileSync(helpFile, "utf8");
      assert.match(help, new RegExp(`data-help-name="${type}"`));
      assert.equal(sections(help), sections(englishHelp), `${lang}: same help sections as en-US`);
    }
  });
}
