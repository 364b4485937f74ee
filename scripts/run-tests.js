// Runs every compiled *.test.js under dist/test with Node's test runner, one file at a time.
// Node 20 takes no glob, and given a folder it would also run helpers and fixtures (any .js
// under a "test" folder counts as a test there), so the files are listed here.
"use strict";
const { spawnSync } = require("child_process");
const fs = require("fs");
const path = require("path");

function testFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(full);
    return entry.name.endsWith(".test.js") ? [full] : [];
  });
}

const files = testFiles(path.resolve(__dirname, "..", "dist", "test")).sort();
// TAP on stdout as before; the failures again, at the end, on stderr (failures-reporter.js).
const reporters = [
  "--test-reporter=tap", "--test-reporter-destination=stdout",
  `--test-reporter=${path.join(__dirname, "failures-reporter.js")}`, "--test-reporter-destination=stderr",
];
const result = spawnSync(process.execPath, ["--test", "--test-concurrency=1", ...reporters, ...process.argv.slice(2), ...files], { stdio: "inherit" });
process.exit(result.status ?? 1);
