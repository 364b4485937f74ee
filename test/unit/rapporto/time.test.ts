import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checkTimeZone, localToIso } from "../../../lib/rapporto/time";

describe("MO `receivedDate` (`YYYY-MM-DD HH:MM:SS`) to ISO 8601 with zone, via Intl", () => {
  const cases = [
    { name: "the docs' example in Moscow, 2009 summer time (+04:00)", input: "2009-10-02 12:00:00", zone: "Europe/Moscow", expected: "2009-10-02T12:00:00+04:00" },
    { name: "Moscow today (+03:00, no DST since 2014)", input: "2024-07-01 08:30:15", zone: "Europe/Moscow", expected: "2024-07-01T08:30:15+03:00" },
    { name: "UTC", input: "2024-01-31 23:59:59", zone: "UTC", expected: "2024-01-31T23:59:59+00:00" },
    { name: "fixed offset +05:00", input: "2024-01-31 23:59:59", zone: "+05:00", expected: "2024-01-31T23:59:59+05:00" },
    { name: "fixed negative offset with minutes", input: "2024-03-01 00:00:00", zone: "-03:30", expected: "2024-03-01T00:00:00-03:30" },
    { name: "half-hour zone (Asia/Kolkata)", input: "2024-06-15 10:00:00", zone: "Asia/Kolkata", expected: "2024-06-15T10:00:00+05:30" },
    { name: "New York winter", input: "2024-01-15 09:00:00", zone: "America/New_York", expected: "2024-01-15T09:00:00-05:00" },
    { name: "New York summer", input: "2024-07-15 09:00:00", zone: "America/New_York", expected: "2024-07-15T09:00:00-04:00" },
    { name: "repeated hour (Berlin fall back): first occurrence", input: "2024-10-27 02:30:00", zone: "Europe/Berlin", expected: "2024-10-27T02:30:00+02:00" },
    { name: "skipped hour (Berlin spring forward): offset after the jump", input: "2024-03-31 02:30:00", zone: "Europe/Berlin", expected: "2024-03-31T02:30:00+02:00" },
    { name: "just after spring forward", input: "2024-03-31 03:00:00", zone: "Europe/Berlin", expected: "2024-03-31T03:00:00+02:00" },
    { name: "leap day", input: "2024-02-29 12:00:00", zone: "UTC", expected: "2024-02-29T12:00:00+00:00" },
  ];
  for (const c of cases) test(c.name, () => assert.equal(localToIso(c.input, c.zone), c.expected));

  test("the result is the same instant as Date would compute for a fixed zone", () => {
    assert.equal(new Date(localToIso("2009-10-02 12:00:00", "Europe/Moscow")).toISOString(), "2009-10-02T08:00:00.000Z");
  });

  const bad = [
    { name: "ISO with zone is not the documented form", input: "2024-01-01T00:00:00Z", reason: /not YYYY-MM-DD HH:MM:SS/ },
    { name: "date only", input: "2024-01-01", reason: /not YYYY-MM-DD HH:MM:SS/ },
    { name: "February 30th", input: "2024-02-30 10:00:00", reason: /does not exist/ },
    { name: "hour 24", input: "2024-02-01 24:00:00", reason: /does not exist/ },
    { name: "minute 60", input: "2024-02-01 10:60:00", reason: /does not exist/ },
  ];
  for (const c of bad) test(`refuses ${c.name}`, () => assert.throws(() => localToIso(c.input, "UTC"), c.reason));

  const zones = [
    { zone: "Europe/Moscow", ok: true },
    { zone: "+03:00", ok: true },
    { zone: "UTC", ok: true },
    { zone: "Mars/Olympus", ok: false },
    { zone: "", ok: false },
  ];
  for (const z of zones) {
    test(`time zone "${z.zone}" is ${z.ok ? "accepted" : "refused with a reason"}`, () => {
      if (z.ok) checkTimeZone(z.zone);
      else assert.throws(() => checkTimeZone(z.zone), /unknown time zone/);
    });
  }
});
