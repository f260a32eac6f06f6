import { copyTraceLines } from "../log";
import {
  configureTracing,
  type RootSpan,
  type Trace,
  type TraceSink,
} from "../observability/trace";

/**
 * Offline only (`npm run dev` sets DEV_TRACES): the spans and log lines of the most recent traces,
 * in memory, for `GET /api/dev/traces/:traceId`, so a developer can follow a request into its
 * task without Sentry. Bounded (ADR 029): at most MAX_TRACES traces (the oldest one goes first),
 * each with at most MAX_SPANS spans and MAX_LINES log lines (later ones are counted, not kept),
 * a line cut at MAX_LINE_CHARS. Worst case ~100 × (500 × ~0.2 KB + 200 × 2 KB) ≈ 50 MB; a
 * typical trace is a few KB.
 */

export const MAX_TRACES = 100;
export const MAX_SPANS = 500;
export const MAX_LINES = 200;
export const MAX_LINE_CHARS = 2000;

export interface BufferedSpan {
  spanId: string;
  parentSpanId: string | null;
  op: string;
  description: string;
  start: string;
  durationMs: number;
  ok: boolean;
  data?: Record<string, string | number | boolean>;
}

interface Entry {
  /** With each span its start in epoch ms, to sort by (the ISO string has ms precision only). */
  spans: [number, BufferedSpan][];
  lines: string[];
  droppedSpans: number;
  droppedLines: number;
}

const traces = new Map<string, Entry>();

function entry(traceId: string): Entry {
  let found = traces.get(traceId);
  if (!found) {
    if (traces.size >= MAX_TRACES) {
      const oldest = traces.keys().next().value;
      if (oldest !== undefined) traces.delete(oldest);
    }
    found = { spans: [], lines: [], droppedSpans: 0, droppedLines: 0 };
    traces.set(traceId, found);
  }
  return found;
}

const ms = (value: number) => Math.round(value * 1000) / 1000;

const sink: TraceSink = {
  all: true,
  finish(trace: Trace, root: RootSpan) {
    const kept = entry(trace.traceId);
    const spans: [number, BufferedSpan][] = [
      [
        trace.start,
        {
          spanId: trace.spanId,
          parentSpanId: trace.parentSpanId ?? null,
          op: root.op,
          description: root.name,
          start: new Date(trace.start).toISOString(),
          durationMs: ms(root.end - trace.start),
          ok: root.ok,
          data: root.data,
        },
      ],
      ...(trace.spans ?? []).map((span): [number, BufferedSpan] => [
        span.start,
        {
          spanId: span.spanId,
          parentSpanId: span.parentSpanId,
          op: span.op,
          description: span.description,
          start: new Date(span.start).toISOString(),
          durationMs: ms(span.end - span.start),
          ok: span.ok,
        },
      ]),
    ];
    const room = Math.max(0, MAX_SPANS - kept.spans.length);
    kept.spans.push(...spans.slice(0, room));
    kept.droppedSpans += Math.max(0, spans.length - room);
  },
};

function keepLine(traceId: string, line: string) {
  const kept = entry(traceId);
  if (kept.lines.length >= MAX_LINES) {
    kept.droppedLines++;
    return;
  }
  kept.lines.push(line.length > MAX_LINE_CHARS ? line.slice(0, MAX_LINE_CHARS) : line);
}

let started = false;

/** Starts keeping traces (server.ts, when DEV_TRACES is on). Idempotent. */
export function startTraceBuffer() {
  if (started) return;
  started = true;
  configureTracing({ sink });
  copyTraceLines(keepLine);
}

export function traceBufferOn(): boolean {
  return started;
}

/** One trace's spans (by start time) and log lines (parsed where they are whole JSON). */
export function bufferedTrace(traceId: string) {
  const kept = traces.get(traceId);
  if (!kept) return undefined;
  return {
    traceId,
    spans: [...kept.spans].sort((a, b) => a[0] - b[0]).map(([, span]) => span),
    logs: kept.lines.map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return { truncated: line };
      }
    }),
    dropped: { spans: kept.droppedSpans, logs: kept.droppedLines },
  };
}
