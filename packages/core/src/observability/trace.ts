import { randomFillSync } from "node:crypto";
import { logTrace } from "../log";
import type { SpanRecord, Trace } from "./trace-types";

export type { SpanRecord, Trace };

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) and the spans of one process's part of
 * a trace (ADR 029). A request or a task is one *root span*; SQL queries and AWS calls inside it
 * are its children. The trace travels in the log context's AsyncLocalStorage store (log.ts: one
 * store, not a second one per request), so every log line carries `traceId`.
 *
 * Cost: every request gets a trace id (logs and `x-trace-id` need one); span objects are built
 * only when the trace is *recorded*: sampled for Sentry (a DSN and TRACES_SAMPLE_RATE), or kept by
 * the offline trace buffer (`npm run dev`). Otherwise `span()` runs its function and nothing else.
 */

/** Where finished root spans go: Sentry (when sampled) and the offline buffer. */
export interface TraceSink {
  /** Whether this sink wants every trace, sampled or not (the offline buffer). */
  all: boolean;
  finish(trace: Trace, root: RootSpan): void;
}

export interface RootSpan {
  op: string;
  name: string;
  end: number;
  ok: boolean;
  /** A few flat attributes (status code, task attempt). */
  data: Record<string, string | number | boolean>;
}

// ------------------------------------------------------------------------ traceparent

const HEX = /^[0-9a-f]+$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);

/**
 * A `traceparent` header, parsed as the spec says a receiver must: lower-case hex only, trace and
 * parent ids not all zeros, version `ff` invalid, version `00` exactly 55 characters, a later
 * version at least 55 with a `-` after the flags if more follows. Anything else is undefined (a
 * new trace starts), never an error.
 */
export function parseTraceparent(
  header: string | null | undefined,
): { traceId: string; parentSpanId: string; sampled: boolean } | undefined {
  if (typeof header !== "string" || header.length < 55) return undefined;
  const version = header.slice(0, 2);
  if (!HEX.test(version) || version === "ff") return undefined;
  if (version === "00" ? header.length !== 55 : header.length > 55 && header[55] !== "-") {
    return undefined;
  }
  if (header[2] !== "-" || header[35] !== "-" || header[52] !== "-") return undefined;
  const traceId = header.slice(3, 35);
  const parentSpanId = header.slice(36, 52);
  const flags = header.slice(53, 55);
  if (!HEX.test(traceId) || traceId === ZERO_TRACE) return undefined;
  if (!HEX.test(parentSpanId) || parentSpanId === ZERO_SPAN) return undefined;
  if (!HEX.test(flags)) return undefined;
  return { traceId, parentSpanId, sampled: (Number.parseInt(flags, 16) & 1) === 1 };
}

/** The `traceparent` a child of `trace`'s root span carries (a task queued by a request). */
export function formatTraceparent(trace: Pick<Trace, "traceId" | "spanId" | "sampled">): string {
  return `00-${trace.traceId}-${trace.spanId}-${trace.sampled ? "01" : "00"}`;
}

// ------------------------------------------------------------------------ ids

// Random ids from a pooled buffer: one randomFillSync per 256 ids instead of one per id.
const pool = Buffer.alloc(4096);
let offset = pool.length;

function randomHex(bytes: number): string {
  if (offset + bytes > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const hex = pool.toString("hex", offset, offset + bytes);
  offset += bytes;
  // All zeros is invalid (2^-64 at worst); redraw rather than send an id every receiver drops.
  return /^0+$/.test(hex) ? randomHex(bytes) : hex;
}

export const newTraceId = () => randomHex(16);
export const newSpanId = () => randomHex(8);

// ------------------------------------------------------------------------ starting and ending

export interface TraceSettings {
  /** 0 until Sentry is on (error-reporting.ts): nothing is sampled. */
  sampleRate: number;
  sinks: TraceSink[];
}

const settings: TraceSettings = { sampleRate: 0, sinks: [] };
let recordAll = false;

/**
 * Called by what starts a sink: Sentry (error-reporting.ts, with TRACES_SAMPLE_RATE) and the
 * offline trace buffer (dev/trace-buffer.ts, which wants every trace).
 */
export function configureTracing(options: { sampleRate?: number; sink?: TraceSink }) {
  if (options.sampleRate !== undefined) settings.sampleRate = options.sampleRate;
  if (options.sink) settings.sinks.push(options.sink);
  recordAll = settings.sinks.some((sink) => sink.all);
}

export function tracingSettings(): Readonly<TraceSettings> {
  return settings;
}

const now = () => performance.timeOrigin + performance.now();

/**
 * A new root span: continuing `parent` (a parsed traceparent) or a new trace. `sampled` decides
 * Sentry: an incoming flag is not trusted (anyone could make every request recorded and sent,
 * spending the Sentry quota), so the API's own rate decides, and a task follows its request's
 * decision (`inherit`, from our own outbox).
 */
export function startTrace(
  parent?: { traceId: string; parentSpanId: string; sampled: boolean },
  inherit = false,
): Trace {
  const rate = settings.sampleRate;
  const sampled =
    rate > 0 && (inherit && parent ? parent.sampled : rate >= 1 || Math.random() < rate);
  const trace: Trace = {
    traceId: parent?.traceId ?? newTraceId(),
    spanId: newSpanId(),
    parentSpanId: parent?.parentSpanId,
    sampled,
    start: now(),
  };
  if (sampled || recordAll) trace.spans = [];
  return trace;
}

/** Hands the finished root span to the sinks that want it. Nothing happens for an unrecorded trace. */
export function finishTrace(
  trace: Trace,
  root: Omit<RootSpan, "end" | "data"> & { data?: RootSpan["data"] },
) {
  if (!trace.spans) return;
  const finished: RootSpan = { ...root, end: now(), data: root.data ?? {} };
  for (const sink of settings.sinks) {
    if (!sink.all && !trace.sampled) continue;
    try {
      sink.finish(trace, finished);
    } catch {
      // A sink's failure must not fail the request it describes.
    }
  }
}

/** The current trace: it travels in log.ts's context (`withLogContext`). */
const current = logTrace;

export function currentTrace(): Trace | undefined {
  return current();
}

/**
 * A child span of the current root span around `fn`, when the trace is recorded; otherwise just
 * `fn()` (no span object). Callers on hot paths check `recording()` first to skip the closure.
 */
export async function span<T>(op: string, description: string, fn: () => Promise<T>): Promise<T> {
  const trace = current();
  if (!trace?.spans) return fn();
  const start = now();
  let ok = false;
  try {
    const result = await fn();
    ok = true;
    return result;
  } finally {
    recordSpan(trace, op, description, start, ok);
  }
}

/** The current trace when its spans are recorded (a hot path's cheap check). */
export function recording(): Trace | undefined {
  const trace = current();
  return trace?.spans ? trace : undefined;
}

/** Most spans one root keeps: a runaway loop of queries must not grow memory without bound. */
export const MAX_SPANS = 1000;

export function recordSpan(
  trace: Trace,
  op: string,
  description: string,
  start: number,
  ok: boolean,
) {
  const spans = trace.spans;
  if (!spans || spans.length >= MAX_SPANS) return;
  spans.push({
    spanId: newSpanId(),
    parentSpanId: trace.spanId,
    op,
    description,
    start,
    end: now(),
    ok,
  });
}

export { now as traceClock };
