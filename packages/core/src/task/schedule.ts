/**
 * A schedule: fire `task` with `payload` on an EventBridge Scheduler expression, in a time zone.
 * This file imports nothing, so infra can read the schedule list (../schedules.ts) without
 * loading the app's runtime dependencies.
 */
export interface Schedule {
  /** EventBridge schedule name: letters, digits, `-`, `_`, `.`; at most 64 characters. */
  name: string;
  /** `rate(5 minutes)`, `rate(1 hour)`, `rate(2 days)`, or `cron(min hour dom month dow year)`. */
  expression: string;
  /** IANA time zone the expression is evaluated in (DST included), e.g. "Europe/Paris". */
  timezone: string;
  /** The task to enqueue, `<module>.<verb>`. */
  task: string;
  payload: unknown;
  description?: string;
}

export function defineSchedule<S extends Schedule>(schedule: S): S {
  return schedule;
}
