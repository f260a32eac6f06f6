/**
 * What a trace is (observability/trace.ts), apart: log.ts keeps the current one in its context
 * and trace.ts reads it from there, so the types live where both can import them without a cycle.
 */

export interface SpanRecord {
  spanId: string;
  parentSpanId: string;
  /** What kind of work: `db.sql.query`, `aws.s3`, … (Sentry's `op`). */
  op: string;
  /** For SQL the statement text (placeholders, never values); for AWS `S3.PutObject`. */
  description: string;
  /** Epoch milliseconds (fractional). */
  start: number;
  end: number;
  ok: boolean;
}

export interface Trace {
  traceId: string;
  /** The root span's id: what a task's traceparent points at as its parent. */
  spanId: string;
  /** The span this process's root continues (an incoming traceparent, the request of a task). */
  parentSpanId?: string;
  /** Sent to Sentry (decided once, at the root, from TRACES_SAMPLE_RATE). */
  sampled: boolean;
  /** Child spans; present only when the trace is recorded. */
  spans?: SpanRecord[];
  start: number;
}
