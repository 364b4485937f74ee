// A second test reporter (see run-tests.js): after the TAP stream, it prints every failed test
// again with its file and error, so a failure shows in the last lines of a long run's log,
// which is often all of a CI log anyone gets to read.
"use strict";

const STACK_LINES = 20;

module.exports = async function* failuresReporter(source) {
  const failed = [];
  for await (const event of source) {
    // A suite fails when one of its tests does; the test itself is the line worth reading.
    if (event.type === "test:fail" && event.data.details?.type !== "suite") failed.push(event.data);
  }
  yield `\n# failed tests: ${failed.length}\n`;
  for (const test of failed) {
    const error = test.details?.error;
    const text = String(error?.cause?.stack ?? error?.stack ?? error?.message ?? error);
    yield `# ✖ ${test.file ?? "?"}: ${test.name}\n`;
    yield text.split("\n").slice(0, STACK_LINES).map((line) => `#   ${line}`).join("\n") + "\n";
  }
};
