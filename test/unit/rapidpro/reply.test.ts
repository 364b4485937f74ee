/** The answer to courier's send request: rapidpro-external-channel.md §3.6, quoted per case. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { replyForSubmit, replyForTimeout } from "../../../lib/rapidpro/reply";
import type { SubmitResult } from "../../../lib/contract";
import { authorizationMatches } from "../../../lib/rapidpro/authorization";

const cases: Array<{ name: string; submit: SubmitResult; status: number; bodyHas: string }> = [
  {
    name: "accepted: 2xx, continue with the next part",
    submit: { accepted: true, parts: 2, smscIds: ["a1", "a2"] },
    status: 200,
    bodyHas: "Accepted",
  },
  {
    // "429 | connection_throttled | E | yes (since 2026-08; earlier F)"
    name: "throttled: 429 so courier retries",
    submit: { accepted: false, parts: 1, smscIds: [], error: { code: 88, text: "ESME_RTHROTTLED", temporary: true, throttled: true } },
    status: 429,
    bodyHas: "ESME_RTHROTTLED",
  },
  {
    // "transport error / timeout ... or any 5xx | connection_failed | E (errored) | yes"
    name: "temporary failure: 503 so courier retries",
    submit: { accepted: false, parts: 1, smscIds: [], error: { code: "ETIMEDOUT", text: "no submit_sm_resp", temporary: true } },
    status: 503,
    bodyHas: "no submit_sm_resp",
  },
  {
    // "any other non-2xx (1xx, 3xx not followed, 4xx) | response_status | F (failed) | no"
    name: "permanent failure: 400 with the reason, the message fails",
    submit: { accepted: false, parts: 1, smscIds: [], error: { code: 11, text: "ESME_RINVDSTADR", temporary: false } },
    status: 400,
    bodyHas: "ESME_RINVDSTADR",
  },
];

describe("replyForSubmit", () => {
  for (const c of cases) {
    test(c.name, () => {
      const reply = replyForSubmit(c.submit);
      assert.equal(reply.status, c.status);
      assert.ok(reply.body.includes(c.bodyHas), reply.body);
      assert.equal(reply.contentType, "application/json");
    });
  }

  test("mt_response_check: 'every part's response body must contain this substring'", () => {
    const reply = replyForSubmit({ accepted: true, parts: 1, smscIds: ["x"] }, { acceptedText: "SENT-OK" });
    assert.ok(reply.body.includes("SENT-OK"));
  });

  test("timeout: 503 so courier retries", () => {
    assert.equal(replyForTimeout(25_000).status, 503);
  });
});

describe("authorizationMatches", () => {
  const table: Array<[string | undefined, string, boolean]> = [
    ["Token ABCDEF", "Token ABCDEF", true],
    ["Token ABCDEG", "Token ABCDEF", false],
    ["Token ABCDEF ", "Token ABCDEF", false],
    [undefined, "Token ABCDEF", false],
    ["", "Token ABCDEF", false],
  ];
  for (const [received, expected, ok] of table) {
    test(`${JSON.stringify(received)} against the configured value: ${ok}`, () => assert.equal(authorizationMatches(received, expected), ok));
  }
});
