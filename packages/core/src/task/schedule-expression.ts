import awsCronParser from "aws-cron-parser";

/**
 * When an EventBridge Scheduler expression fires, so the offline scheduler fires the same
 * schedules at the same instants as AWS. Cron fields (`?`, `L`, `W`, `#`, ranges, lists, steps,
 * the year field) are matched by aws-cron-parser on wall-clock time; this file adds the time zone
 * with EventBridge's DST rules: a wall time that does not exist (spring forward) is skipped, and
 * one that happens twice (fall back) fires once, at its first occurrence.
 */

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\((.+)\)$/;
const UNIT_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

export class ScheduleExpressionError extends Error {
  override name = "ScheduleExpressionError";
}

export type ParsedExpression =
  | { kind: "rate"; everyMs: number }
  | { kind: "cron"; cron: ReturnType<typeof awsCronParser.parse> };

export function parseExpression(expression: string, timezone: string): ParsedExpression {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
  } catch {
    throw new ScheduleExpressionError(`unknown time zone "${timezone}"`);
  }
  const rate = RATE.exec(expression);
  if (rate) {
    const value = Number(rate[1]);
    const unit = rate[2] as string;
    const singular = !unit.endsWith("s");
    // EventBridge's own rule: "rate(1 hour)" but "rate(2 hours)".
    if (value < 1 || singular !== (value === 1)) {
      throw new ScheduleExpressionError(`invalid rate expression "${expression}"`);
    }
    const base = (singular ? unit : unit.slice(0, -1)) as keyof typeof UNIT_MS;
    return { kind: "rate", everyMs: value * UNIT_MS[base] };
  }
  const cron = CRON.exec(expression);
  if (cron?.[1] && cron[1].trim().split(/\s+/).length === 6) {
    const fields = cron[1].trim().split(/\s+/);
    // EventBridge requires `?` in one of day-of-month and day-of-week.
    if (fields[2] !== "?" && fields[4] !== "?") {
      throw new ScheduleExpressionError(`"${expression}": day-of-month or day-of-week must be "?"`);
    }
    try {
      return { kind: "cron", cron: awsCronParser.parse(cron[1]) };
    } catch (error) {
      throw new ScheduleExpressionError(
        `invalid cron expression "${expression}": ${String(error)}`,
      );
    }
  }
  throw new ScheduleExpressionError(`"${expression}" is neither rate(...) nor cron(... 6 fields)`);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock time at `instant` in `timezone`, as a Date whose UTC fields hold it. */
function wallClock(instant: Date, timezone: string): Date {
  let format = formatters.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timezone, format);
  }
  const part = Object.fromEntries(
    format.formatToParts(instant).map((p) => [p.type, Number(p.value)]),
  );
  return new Date(
    Date.UTC(part.year ?? 0, (part.month ?? 1) - 1, part.day, part.hour, part.minute, part.second),
  );
}

/** The first instant whose wall-clock time in `timezone` is `wall`, or null inside a DST gap. */
function instantOf(wall: Date, timezone: string): Date | null {
  const offsetAt = (ms: number) => wallClock(new Date(ms), timezone).getTime() - ms;
  // Offsets half a day either side: they bracket any transition near `wall`.
  const candidates = [
    wall.getTime() - offsetAt(wall.getTime() - 43_200_000),
    wall.getTime() - offsetAt(wall.getTime() + 43_200_000),
  ].filter((ms) => wallClock(new Date(ms), timezone).getTime() === wall.getTime());
  return candidates.length > 0 ? new Date(Math.min(...candidates)) : null;
}

/**
 * The next `count` instants strictly after `after`. A rate schedule fires every period from
 * `anchor` (when it was created or the scheduler started), as EventBridge does without StartDate.
 */
export function nextFireTimes(
  expression: string,
  timezone: string,
  after: Date,
  count = 1,
  anchor: Date = after,
): Date[] {
  const result: Date[] = [];
  if (count < 1) return result;
  for (const instant of fireTimes(parseExpression(expression, timezone), timezone, after, anchor)) {
    result.push(instant);
    if (result.length >= count) break;
  }
  return result;
}

/**
 * Every instant strictly after `after` and not after `until`, in order: what `nextFireTimes`
 * gives one at a time, with the expression parsed once (the cost tool counts a month of fires).
 */
export function fireTimesUntil(
  expression: string,
  timezone: string,
  after: Date,
  until: Date,
  anchor: Date = after,
): Date[] {
  const result: Date[] = [];
  for (const instant of fireTimes(parseExpression(expression, timezone), timezone, after, anchor)) {
    if (instant.getTime() > until.getTime()) break;
    result.push(instant);
  }
  return result;
}

function* fireTimes(
  parsed: ParsedExpression,
  timezone: string,
  after: Date,
  anchor: Date,
): Generator<Date> {
  if (parsed.kind === "rate") {
    const elapsed = Math.max(0, after.getTime() - anchor.getTime());
    let next = anchor.getTime() + (Math.floor(elapsed / parsed.everyMs) + 1) * parsed.everyMs;
    for (;;) {
      yield new Date(next);
      next += parsed.everyMs;
    }
  }
  let cursor = wallClock(after, timezone);
  // Bounded: an expression may stop matching (a year list in the past).
  for (let misses = 0; misses < 100_000; misses++) {
    const wall = awsCronParser.next(parsed.cron, cursor);
    if (!wall) return;
    cursor = wall;
    const instant = instantOf(wall, timezone);
    // Skipped in a spring-forward gap; a fall-back repeat maps to its first (earlier) instant.
    if (instant && instant.getTime() > after.getTime()) {
      yield instant;
      misses = -1;
    }
  }
}
