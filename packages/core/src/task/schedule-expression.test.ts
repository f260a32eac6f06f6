import { describe, expect, it } from "vitest";
import {
  fireTimesUntil,
  nextFireTimes,
  parseExpression,
  ScheduleExpressionError,
} from "./schedule-expression";

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());
const at = (text: string) => new Date(text);

describe("schedule expressions (EventBridge Scheduler semantics)", () => {
  it("rate: every period from the anchor", () => {
    const anchor = at("2026-01-01T00:00:00Z");
    expect(
      iso(nextFireTimes("rate(5 minutes)", "UTC", at("2026-01-01T00:07:00Z"), 3, anchor)),
    ).toEqual(["2026-01-01T00:10:00.000Z", "2026-01-01T00:15:00.000Z", "2026-01-01T00:20:00.000Z"]);
    expect(iso(nextFireTimes("rate(1 hour)", "UTC", anchor, 1, anchor))).toEqual([
      "2026-01-01T01:00:00.000Z",
    ]);
    // rate(1 day) is 24 hours of elapsed time, whatever DST does to the wall clock.
    const march = at("2026-03-07T12:00:00Z");
    expect(iso(nextFireTimes("rate(1 day)", "America/New_York", march, 2, march))).toEqual([
      "2026-03-08T12:00:00.000Z",
      "2026-03-09T12:00:00.000Z",
    ]);
  });

  it("cron: minutes, hours, lists, ranges and steps", () => {
    expect(
      iso(nextFireTimes("cron(0/15 9-10 ? * MON-FRI *)", "UTC", at("2026-11-20T10:40:00Z"), 4)),
    ).toEqual([
      "2026-11-20T10:45:00.000Z", // Friday
      "2026-11-23T09:00:00.000Z", // Monday
      "2026-11-23T09:15:00.000Z",
      "2026-11-23T09:30:00.000Z",
    ]);
    expect(
      iso(nextFireTimes("cron(0 8,20 1,15 * ? *)", "UTC", at("2026-11-01T09:00:00Z"), 3)),
    ).toEqual(["2026-11-01T20:00:00.000Z", "2026-11-15T08:00:00.000Z", "2026-11-15T20:00:00.000Z"]);
  });

  it("cron: L, W and # (last day, nearest weekday, nth weekday)", () => {
    // Last day of the month.
    expect(iso(nextFireTimes("cron(0 12 L * ? *)", "UTC", at("2026-02-01T00:00:00Z"), 2))).toEqual([
      "2026-02-28T12:00:00.000Z",
      "2026-03-31T12:00:00.000Z",
    ]);
    // Weekday nearest the 15th: 2026-08-15 is a Saturday, so Friday the 14th.
    expect(
      iso(nextFireTimes("cron(0 9 15W * ? 2026)", "UTC", at("2026-08-01T00:00:00Z"), 1)),
    ).toEqual(["2026-08-14T09:00:00.000Z"]);
    // Second Tuesday (EventBridge numbers days 1-7 from Sunday: 3 = Tuesday).
    expect(iso(nextFireTimes("cron(0 9 ? * 3#2 *)", "UTC", at("2026-11-01T00:00:00Z"), 1))).toEqual(
      ["2026-11-10T09:00:00.000Z"],
    );
    // Last Friday (6L).
    expect(iso(nextFireTimes("cron(0 17 ? * 6L *)", "UTC", at("2026-11-01T00:00:00Z"), 1))).toEqual(
      ["2026-11-27T17:00:00.000Z"],
    );
  });

  it("cron: the year field bounds the schedule", () => {
    expect(
      iso(nextFireTimes("cron(0 0 1 1 ? 2027-2028)", "UTC", at("2026-06-01T00:00:00Z"), 5)),
    ).toEqual(["2027-01-01T00:00:00.000Z", "2028-01-01T00:00:00.000Z"]);
  });

  it("evaluates in the schedule's time zone, following DST", () => {
    // 08:00 in Paris is 07:00Z in winter and 06:00Z in summer (DST from 2026-03-29).
    expect(
      iso(nextFireTimes("cron(0 8 * * ? *)", "Europe/Paris", at("2026-03-27T12:00:00Z"), 3)),
    ).toEqual(["2026-03-28T07:00:00.000Z", "2026-03-29T06:00:00.000Z", "2026-03-30T06:00:00.000Z"]);
  });

  it("skips a wall time that does not exist when clocks spring forward", () => {
    // New York, 2026-03-08: 02:00 jumps to 03:00, so there is no 02:30 that day.
    const around = nextFireTimes(
      "cron(30 2 * * ? *)",
      "America/New_York",
      at("2026-03-06T12:00:00Z"),
      3,
    );
    expect(iso(around)).toEqual([
      "2026-03-07T07:30:00.000Z", // EST
      "2026-03-09T06:30:00.000Z", // EDT; 03-08 skipped
      "2026-03-10T06:30:00.000Z",
    ]);
  });

  it("fires once, at the first occurrence, when clocks fall back", () => {
    // New York, 2026-11-01: 01:30 happens at 05:30Z (EDT) and again at 06:30Z (EST).
    const fires = nextFireTimes(
      "cron(30 1 * * ? *)",
      "America/New_York",
      at("2026-10-31T12:00:00Z"),
      2,
    );
    expect(iso(fires)).toEqual(["2026-11-01T05:30:00.000Z", "2026-11-02T06:30:00.000Z"]);
    // Asked from inside the repeated hour, it does not fire again that night.
    expect(
      iso(nextFireTimes("cron(30 1 * * ? *)", "America/New_York", at("2026-11-01T06:00:00Z"), 1)),
    ).toEqual(["2026-11-02T06:30:00.000Z"]);
  });

  it("fireTimesUntil: the fires nextFireTimes gives one after another, up to and including the end", () => {
    // A month across New York's spring-forward (2026-03-08), where fires are skipped.
    const start = at("2026-03-01T00:00:00Z");
    const end = at("2026-04-01T00:00:00Z");
    for (const expression of ["cron(30 2 * * ? *)", "cron(17 * * * ? *)", "rate(7 hours)"]) {
      const stepped: Date[] = [];
      for (let cursor = start; ; ) {
        const [next] = nextFireTimes(expression, "America/New_York", cursor, 1, start);
        if (!next || next > end) break;
        stepped.push(next);
        cursor = next;
      }
      const all = fireTimesUntil(expression, "America/New_York", start, end);
      expect(all.length).toBeGreaterThan(25);
      expect(iso(all)).toEqual(iso(stepped));
    }
    // The end itself is included; a year list that ends stops the list.
    expect(
      iso(fireTimesUntil("cron(0 0 1 1 ? 2027-2028)", "UTC", start, at("2030-01-01T00:00:00Z"))),
    ).toEqual(["2027-01-01T00:00:00.000Z", "2028-01-01T00:00:00.000Z"]);
    expect(iso(fireTimesUntil("rate(1 hour)", "UTC", start, at("2026-03-01T02:00:00Z")))).toEqual([
      "2026-03-01T01:00:00.000Z",
      "2026-03-01T02:00:00.000Z",
    ]);
  });

  it("rejects what EventBridge rejects, with the reason", () => {
    const reject =
      (expression: string, timezone = "UTC") =>
      () =>
        parseExpression(expression, timezone);
    expect(reject("rate(1 hours)")).toThrow(ScheduleExpressionError);
    expect(reject("rate(5 minute)")).toThrow(/invalid rate/);
    expect(reject("rate(0 minutes)")).toThrow(/invalid rate/);
    expect(reject("cron(0 8 * * * *)")).toThrow(/must be "\?"/);
    expect(reject("cron(0 8 * *)")).toThrow(/neither rate/);
    expect(reject("cron(0 8 * * ? *)", "Mars/Olympus")).toThrow(/unknown time zone/);
  });
});
