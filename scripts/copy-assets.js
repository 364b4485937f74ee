// The build's copy step: tsc compiles nodes/<type>/<type>.ts to dist/nodes/<type>/<type>.js;
// Node-RED wants the editor file <type>.html, its locales/ and an icons/ folder beside it.
"use strict";
const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..");
const srcNodes = path.join(root, "nodes");
const distNodes = path.join(root, "dist", "nodes");
const icons = path.join(root, "icons");

function copyTree(from, to, keep) {
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) copyTree(src, dst, keep);
    else if (keep(entry.name)) {
      fs.mkdirSync(to, { recursive: true });
      fs.copyFileSync(src, dst);
    }
  }
}

copyTree(srcNodes, distNodes, (name) => !name.endsWith(".ts"));

// Defaults defined once in lib/ and shown by the editor and its help: each `__DEFAULT_<name>__`
// token in a node's .html files becomes the value of <name> in its module (compiled by tsc
// before this); a token without a value fails the build.
const EDITOR_DEFAULTS = {
  "smpp-bind": () => require(path.join(root, "dist", "lib", "smpp", "defaults.js")).SMPP_BIND_DEFAULTS,
  "cimd2-bind": () => require(path.join(root, "dist", "lib", "cimd2", "defaults.js")).CIMD2_BIND_DEFAULTS,
  "ucp-bind": () => require(path.join(root, "dist", "lib", "ucp", "defaults.js")).UCP_BIND_DEFAULTS,
};
function htmlFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return htmlFiles(file);
    return entry.name.endsWith(".html") ? [file] : [];
  });
}
for (const [type, load] of Object.entries(EDITOR_DEFAULTS)) {
  const values = load();
  for (const target of htmlFiles(path.join(distNodes, type))) {
    const html = fs.readFileSync(target, "utf8").replace(/__DEFAULT_(\w+?)__/g, (token, name) => {
      if (!(name in values)) throw new Error(`${path.relative(root, target)}: ${token} has no value in its defaults module`);
      return JSON.stringify(values[name]);
    });
    fs.writeFileSync(target, html);
  }
}
for (const entry of fs.readdirSync(srcNodes, { withFileTypes: true })) {
  if (entry.isDirectory() && fs.existsSync(path.join(srcNodes, entry.name, `${entry.name}.html`))) {
    copyTree(icons, path.join(distNodes, entry.name, "icons"), () => true);
  }
}
