/**
 * Every CloudWatch metric the app emits (as Embedded Metric Format log lines, metrics.ts), with
 * its dimensions and the only values those dimensions take. Plain data with no imports: the
 * emitting code and infra/monitoring.ts (dashboard, alarms) read this one definition, so a widget
 * cannot name a metric or a dimension value the code does not emit (infra/tests check it).
 *
 * Each distinct (metric, dimension values) is one custom metric, billed per metric-month
 * (ADR 030): the dimension values are closed lists, never a raw path or an id.
 */

/** One namespace per app; the stage is a dimension, so stages never mix. */
export const METRICS_NAMESPACE = "Slipway";

/** How often each process writes what it has gathered (and at shutdown, and after each Lambda batch). */
export const METRICS_FLUSH_SECONDS = 60;

/**
 * The route groups: the first segment after /api of the matched route pattern. `other` is any
 * other matched route (the OpenAPI document, the offline dev tools and store); `unmatched` a
 * request no route serves (404/405), so a scanner's paths never become metrics. /api/health is
 * not measured: the container's health checks call it all the time, which would bill a metric
 * on an idle stage and tell nothing about users.
 */
export const ROUTE_GROUPS = ["auth", "notes", "attachments", "other", "unmatched"] as const;
export type RouteGroup = (typeof ROUTE_GROUPS)[number];

/** Every task name the worker runs (src/registries.test.ts checks it against src/tasks.ts), and `other`. */
export const TASK_NAMES = [
  "account.sendVerification",
  "account.sendPasswordReset",
  "account.sendEmailChange",
  "attachments.process",
  "attachments.deleteObjects",
  "digest.daily",
  "digest.dailyPage",
  "digest.sendOne",
  "mail.deliver",
  "maintenance.cleanup",
  "other",
] as const;
export type TaskMetricName = (typeof TASK_NAMES)[number];

/** The metric families: which metrics share which dimensions. */
export const METRICS = {
  /** Per route group. `Latency`'s SampleCount is the request count. */
  request: {
    dimensions: ["Stage", "RouteGroup"],
    metrics: { Latency: "Milliseconds", Errors5xx: "Count" },
  },
  /** Per task name. `TaskDuration`'s SampleCount is the number of runs. */
  task: {
    dimensions: ["Stage", "Task"],
    metrics: { TaskDuration: "Milliseconds", TaskFailures: "Count", TaskQueueAge: "Milliseconds" },
  },
  /** Stage-wide. */
  security: {
    dimensions: ["Stage"],
    metrics: { LoginFailures: "Count", RateLimited: "Count" },
  },
} as const;

/** How many distinct custom metrics a stage can emit: the most `npm run cost` prices. */
export function customMetricCount(): number {
  const per = (family: { metrics: object }) => Object.keys(family.metrics).length;
  return (
    per(METRICS.request) * ROUTE_GROUPS.length +
    per(METRICS.task) * TASK_NAMES.length +
    per(METRICS.security)
  );
}
