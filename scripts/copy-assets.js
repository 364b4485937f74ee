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
for (const entry of fs.readdirSync(srcNodes, { withFileTypes: true })) {
  if (entry.isDirectory() && fs.existsSync(path.join(srcNodes, entry.name, `${entry.name}.html`))) {
    copyTree(icons, path.join(distNodes, entry.name, "icons"), () => true);
  }
}
