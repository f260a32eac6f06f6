import { config } from "../config";
import { writeLogLine } from "../log";
import {
  METRICS,
  METRICS_FLUSH_SECONDS,
  METRICS_NAMESPACE,
  ROUTE_GROUPS,
  type RouteGroup,
  TASK_NAMES,
  type TaskMetricName,
} from "./metric-catalog";

/**
 * Metrics as CloudWatch Embedded Metric Format (EMF) log lines: no agent, no sidecar, no API call.
 * CloudWatch Logs extracts them from the lines the API container and the worker Lambda already
 * write to stdout; offline the same lines are in the log. (ADR 030.)
 *
 * Nothing is written per request: each process adds every observation to an in-memory aggregate
 * keyed by a closed list of dimension values (metric-catalog.ts), and `flushMetrics` writes one
 * line per key that saw something: every 60 s, at shutdown, and at the end of each Lambda batch.
 * A distribution (latency, duration, queue age) is a histogram of at most 97 buckets, written as
 * EMF's `Values`/`Counts` with the exact `Max`, `Min`, `Count` and `Sum`, so CloudWatch's
 * percentiles cover every request, not a sample. Counters are written only when non-zero: a
 * metric costs by the hours it has data, and a healthy hour has no 5xx.
 */

/** Buckets per doubling: a value is reported within ±9% (2^(1/8)), which p99 alarms tolerate. */
const BUCKETS_PER_DOUBLING = 4;
/** 2^-4 ms to 2^20 ms (~17 min): 97 buckets, under EMF's 100 values per metric. */
const MIN_BUCKET = -4 * BUCKETS_PER_DOUBLING;
const MAX_BUCKET = 20 * BUCKETS_PER_DOUBLING;
/** EMF's limit on the values one metric carries in one line. */
export const EMF_MAX_VALUES = 100;

/** The bucket a value falls in: (2^((i-1)/4), 2^(i/4)], clamped to the range. */
export function bucketOf(value: number): number {
  if (!(value > 0)) return MIN_BUCKET;
  const index = Math.ceil(Math.log2(value) * BUCKETS_PER_DOUBLING);
  return index < MIN_BUCKET ? MIN_BUCKET : index > MAX_BUCKET ? MAX_BUCKET : index;
}

/** The value a bucket reports: the geometric middle of its bounds, to 3 significant digits. */
export function bucketValue(index: number): number {
  return Number((2 ** ((index - 0.5) / BUCKETS_PER_DOUBLING)).toPrecision(3));
}

export class Distribution {
  readonly buckets = new Map<number, number>();
  count = 0;
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  add(value: number) {
    const v = value > 0 ? value : 0;
    const bucket = bucketOf(v);
    this.buckets.set(bucket, (this.buckets.get(bucket) ?? 0) + 1);
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** EMF's aggregated value: Values/Counts with the statistic set (Max, Min, Count, Sum). */
  toEmf() {
    const indexes = [...this.buckets.keys()].sort((a, b) => a - b);
    return {
      Values: indexes.map(bucketValue),
      Counts: indexes.map((i) => this.buckets.get(i) as number),
      Max: round(this.max),
      Min: round(this.min),
      Count: this.count,
      Sum: round(this.sum),
    };
  }
}

const round = (n: number) => Math.round(n * 1000) / 1000;

interface RequestAggregate {
  latency: Distribution;
  errors5xx: number;
}
interface TaskAggregate {
  duration: Distribution;
  failures: number;
  queueAge: Distribution;
}

const routeGroups = new Set<string>(ROUTE_GROUPS);
const taskNames = new Set<string>(TASK_NAMES);

/** What one process has gathered since its last flush. */
export class MetricsAggregator {
  requests = new Map<RouteGroup, RequestAggregate>();
  tasks = new Map<TaskMetricName, TaskAggregate>();
  loginFailures = 0;
  rateLimited = 0;

  request(group: RouteGroup, status: number, durationMs: number) {
    let aggregate = this.requests.get(group);
    if (!aggregate) {
      aggregate = { latency: new Distribution(), errors5xx: 0 };
      this.requests.set(group, aggregate);
    }
    aggregate.latency.add(durationMs);
    if (status >= 500) aggregate.errors5xx++;
    else if (status === 429) this.rateLimited++;
  }

  task(name: string, durationMs: number, failed: boolean, queueAgeMs: number | undefined) {
    const key = (taskNames.has(name) ? name : "other") as TaskMetricName;
    let aggregate = this.tasks.get(key);
    if (!aggregate) {
      aggregate = { duration: new Distribution(), failures: 0, queueAge: new Distribution() };
      this.tasks.set(key, aggregate);
    }
    aggregate.duration.add(durationMs);
    if (failed) aggregate.failures++;
    if (queueAgeMs !== undefined) aggregate.queueAge.add(queueAgeMs);
  }

  get empty() {
    return (
      this.requests.size === 0 &&
      this.tasks.size === 0 &&
      this.loginFailures === 0 &&
      this.rateLimited === 0
    );
  }

  /** One EMF document per key that saw something, and a fresh aggregate. */
  drain(stage: string, now: number): Record<string, unknown>[] {
    const documents: Record<string, unknown>[] = [];
    const emf = (family: keyof typeof METRICS, values: Record<string, unknown>) => {
      const { dimensions, metrics } = METRICS[family];
      const present = Object.entries(metrics).filter(([name]) => values[name] !== undefined);
      if (present.length === 0) return;
      documents.push({
        level: "info",
        time: new Date(now).toISOString(),
        message: "metrics",
        _aws: {
          Timestamp: now,
          CloudWatchMetrics: [
            {
              Namespace: METRICS_NAMESPACE,
              Dimensions: [[...dimensions]],
              Metrics: present.map(([Name, Unit]) => ({ Name, Unit })),
            },
          ],
        },
        Stage: stage,
        // Absent, not undefined: a counter that stayed at zero is no member and no metric.
        ...Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)),
      });
    };
    for (const [group, a] of this.requests)
      emf("request", {
        RouteGroup: group,
        Latency: a.latency.toEmf(),
        Errors5xx: a.errors5xx || undefined,
      });
    for (const [name, a] of this.tasks)
      emf("task", {
        Task: name,
        TaskDuration: a.duration.toEmf(),
        TaskFailures: a.failures || undefined,
        TaskQueueAge: a.queueAge.count > 0 ? a.queueAge.toEmf() : undefined,
      });
    emf("security", {
      LoginFailures: this.loginFailures || undefined,
      RateLimited: this.rateLimited || undefined,
    });
    this.requests = new Map();
    this.tasks = new Map();
    this.loginFailures = 0;
    this.rateLimited = 0;
    return documents;
  }
}

let current = new MetricsAggregator();

/**
 * The route group of a matched route pattern (`/api/notes/:id` → notes). Patterns are few and
 * fixed, so the answer is kept per pattern.
 */
const groupByPattern = new Map<string, RouteGroup>();
export function routeGroupOf(pattern: string | undefined): RouteGroup {
  if (pattern === undefined) return "unmatched";
  let group = groupByPattern.get(pattern);
  if (group === undefined) {
    const first = pattern.startsWith("/api/") ? pattern.slice(5).split("/")[0] : undefined;
    group = first && routeGroups.has(first) ? (first as RouteGroup) : "other";
    groupByPattern.set(pattern, group);
  }
  return group;
}

/** A finished request (http/app.ts). The health group is not measured (metric-catalog.ts). */
export function recordRequest(pattern: string | undefined, status: number, durationMs: number) {
  if (pattern?.startsWith("/api/health")) return;
  current.request(routeGroupOf(pattern), status, durationMs);
}

/** A task run (task/worker.ts): its duration, whether it failed, and how long it had queued. */
export function recordTask(name: string, durationMs: number, failed: boolean, queueAgeMs?: number) {
  current.task(name, durationMs, failed, queueAgeMs);
}

/** A sign-in refused for a wrong email or password. */
export function recordLoginFailure() {
  current.loginFailures++;
}

/**
 * Writes what was gathered as EMF lines (in the log's output, so offline they are in the log too)
 * and starts afresh. Nothing is written when nothing happened.
 */
export function flushMetrics(now = Date.now()) {
  if (current.empty) return;
  const documents = current.drain(config().stage, now);
  for (const document of documents) writeLogLine(`${JSON.stringify(document)}\n`);
}

/** Flushes every `METRICS_FLUSH_SECONDS` without keeping the process alive; returns the stop. */
export function startMetricsFlush(intervalMs = METRICS_FLUSH_SECONDS * 1000): () => void {
  const timer = setInterval(() => flushMetrics(), intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    flushMetrics();
  };
}

/** Replaces the process's aggregate (tests), returning the previous one. */
export function resetMetrics(): MetricsAggregator {
  const previous = current;
  current = new MetricsAggregator();
  return previous;
}
