import { AsyncLocalStorage } from "node:async_hooks";
import { writeSync } from "node:fs";
import { config, type LogLevel } from "./config";
import { errorFields } from "./observability/redact";
import type { Trace } from "./observability/trace-types";

/**
 * JSON-lines logger. Context fields (request id, later task id) come from AsyncLocalStorage,
 * so a line written anywhere during a request carries its id without threading it through.
 * A line is `{"level","time","message",...context,...fields}` in that order.
 *
 * Where lines go (ADR 020): by default each is written to process.stdout at once, as tests,
 * scripts and the worker Lambda expect. The API server calls `bufferLogOutput()`: lines are then
 * gathered for one write per event-loop turn, at most `maxBytes` waiting; past that they are
 * dropped and counted, and one warning line says how many once stdout has caught up. Never an
 * unbounded queue (stdout on ECS is a pipe, which Node writes asynchronously: a log reader that
 * falls behind used to grow the process's memory without limit), never a blocked event loop.
 */

type Fields = Record<string, unknown>;

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

interface Context {
  fields: Fields;
  /** `fields` as JSON members (`,"requestId":"…"`), serialised once for every line it is in. */
  json: string;
  /** A context field named level, time or message: such lines take the general path. */
  reserved: boolean;
  /**
   * The trace of the request or task (observability/trace.ts): kept in this one store rather than
   * an AsyncLocalStorage of its own, which would cost a second context per request.
   */
  trace?: Trace;
}

const storage = new AsyncLocalStorage<Context>();
const RESERVED = new Set(["level", "time", "message"]);

/** `{"a":1}` → `,"a":1`; `{}` → "". */
const members = (json: string) => (json.length > 2 ? `,${json.slice(1, -1)}` : "");

/**
 * Runs `fn` with `fields` added to every log line written inside it. With `trace`, that trace
 * is current inside (its id joins the fields as `traceId`); without, the caller's stays.
 */
export function withLogContext<T>(fields: Fields, fn: () => T, trace?: Trace): T {
  const parent = storage.getStore();
  const merged = trace
    ? { ...parent?.fields, ...fields, traceId: trace.traceId }
    : { ...parent?.fields, ...fields };
  const context: Context = {
    fields: merged,
    json: members(JSON.stringify(merged, replaceErrors)),
    reserved: Object.keys(merged).some((key) => RESERVED.has(key)),
    trace: trace ?? parent?.trace,
  };
  return storage.run(context, fn);
}

/** The trace of the current request or task (observability/trace.ts reads it here). */
export function logTrace(): Trace | undefined {
  return storage.getStore()?.trace;
}

/** Receives each line written inside a trace, with its trace id: the offline trace buffer. */
let traceLines: ((traceId: string, line: string) => void) | undefined;

/** Offline (`npm run dev`): every line of a trace also goes to `sink` (dev/trace-buffer.ts). */
export function copyTraceLines(sink: ((traceId: string, line: string) => void) | undefined) {
  traceLines = sink;
}

/** The fields of the current log context (the request id inside a request, the task id in a task). */
export function logContext(): Readonly<Fields> {
  return storage.getStore()?.fields ?? {};
}

// Errors serialise to {} by default; keep what helps debugging (the stack stays in logs only),
// without the parameters a failed query's message lists.
function replaceErrors(_key: string, value: unknown) {
  return value instanceof Error ? errorFields(value) : value;
}

/** Whether every value is a string, number, boolean, null or undefined (no Error to replace). */
function flat(fields: Fields, context: Context | undefined): boolean {
  for (const key in fields) {
    const value = fields[key];
    if (typeof value === "object" && value !== null) return false;
    if (RESERVED.has(key) || (context && key in context.fields)) return false;
  }
  return true;
}

function format(level: Exclude<LogLevel, "silent">, message: string, fields?: Fields): string {
  const context = storage.getStore();
  const time = new Date().toISOString();
  if (context?.reserved || (fields && !flat(fields, context))) {
    // The general case: a field overriding the context or the line's own keys, nested values.
    const line = { level, time, message, ...context?.fields, ...fields };
    return `${JSON.stringify(line, replaceErrors)}\n`;
  }
  const rest = fields ? members(JSON.stringify(fields)) : "";
  return `{"level":"${level}","time":"${time}","message":${JSON.stringify(message)}${context?.json ?? ""}${rest}}\n`;
}

function write(level: Exclude<LogLevel, "silent">, message: string, fields?: Fields) {
  if (order[level] < order[config().logLevel]) return;
  const line = format(level, message, fields);
  output.write(line);
  if (traceLines) {
    const trace = storage.getStore()?.trace;
    if (trace) traceLines(trace.traceId, line);
  }
}

/**
 * Writes a line already formatted (an EMF metrics document, observability/metrics.ts) to the same
 * output, at every level but `silent`: metrics are not chatter a level should hide.
 */
export function writeLogLine(line: string) {
  if (config().logLevel === "silent") return;
  output.write(line);
}

export const log = {
  debug: (message: string, fields?: Fields) => write("debug", message, fields),
  info: (message: string, fields?: Fields) => write("info", message, fields),
  warn: (message: string, fields?: Fields) => write("warn", message, fields),
  error: (message: string, fields?: Fields) => write("error", message, fields),
};

// ---------------------------------------------------------------- output

/** Where formatted lines go. */
export interface LogOutput {
  write(line: string): void;
  /** Resolves once every accepted line has been handed to the OS (or after `timeoutMs`). */
  flush(timeoutMs?: number): Promise<void>;
  /** Writes what is still waiting, synchronously: for `exit`, when no callback will run. */
  flushSync(): void;
}

/** One write per line, at once: what tests capture (test/logs.ts) and short-lived processes want. */
const direct: LogOutput = {
  write: (line) => {
    process.stdout.write(line);
  },
  flush: async () => {},
  flushSync: () => {},
};

let output: LogOutput = direct;

/** The stream a buffered output writes to: process.stdout, or a test's. */
export interface LogTarget {
  write(chunk: string, done: (error?: Error | null) => void): unknown;
  /** Its file descriptor, for the synchronous flush at exit. */
  fd?: number;
}

/** What the API server buffers at most: about a second of request lines at a few thousand a second. */
export const LOG_BUFFER_BYTES = 1024 * 1024;

/**
 * Lines gathered and written once per event-loop turn, one write in flight at a time. At most
 * `maxBytes` (UTF-16 code units, which JSON lines of ASCII count as bytes) wait or are in flight;
 * a line past that is dropped and counted, and when the target has caught up one warning line
 * says how many were lost. Dropping rather than blocking: a log reader that cannot keep up must
 * not stop the API from answering (ADR 020).
 */
export function createBufferedOutput(
  target: LogTarget,
  { maxBytes = LOG_BUFFER_BYTES }: { maxBytes?: number } = {},
): LogOutput & { readonly dropped: number } {
  let pending: string[] = [];
  let pendingBytes = 0;
  let inFlightBytes = 0;
  let scheduled = false;
  let dropped = 0;
  let droppedSince: string | undefined;
  let waiters: (() => void)[] = [];

  const dropWarning = () => {
    const line = `{"level":"warn","time":"${new Date().toISOString()}","message":"log lines dropped","dropped":${dropped},"since":"${droppedSince}","reason":"stdout did not keep up"}\n`;
    dropped = 0;
    droppedSince = undefined;
    return line;
  };

  const send = () => {
    scheduled = false;
    if (inFlightBytes > 0 || pending.length === 0) return;
    const chunk = pending.length === 1 ? (pending[0] as string) : pending.join("");
    pending = [];
    pendingBytes = 0;
    inFlightBytes = chunk.length;
    target.write(chunk, written);
  };

  const written = () => {
    inFlightBytes = 0;
    // Caught up enough to write again: say first what was lost meanwhile.
    if (dropped > 0) {
      const warning = dropWarning();
      pending.unshift(warning);
      pendingBytes += warning.length;
    }
    if (pending.length > 0) return send();
    const done = waiters;
    waiters = [];
    for (const wake of done) wake();
  };

  return {
    get dropped() {
      return dropped;
    },
    write(line) {
      if (pendingBytes + inFlightBytes + line.length > maxBytes) {
        if (dropped === 0) droppedSince = new Date().toISOString();
        dropped++;
        return;
      }
      pending.push(line);
      pendingBytes += line.length;
      if (!scheduled && inFlightBytes === 0) {
        scheduled = true;
        setImmediate(send);
      }
    },
    flush(timeoutMs = 2000) {
      if (inFlightBytes === 0 && pending.length === 0 && dropped === 0) return Promise.resolve();
      if (inFlightBytes === 0 && pending.length === 0) {
        const warning = dropWarning();
        pending.push(warning);
        pendingBytes += warning.length;
      }
      return new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
        if (inFlightBytes === 0) send();
      });
    },
    flushSync() {
      if (target.fd === undefined) return;
      const rest = pending.join("") + (dropped > 0 ? dropWarning() : "");
      pending = [];
      pendingBytes = 0;
      writeAllSync(target.fd, rest);
    },
  };
}

/**
 * Writes `text` to `fd` now. Stdout as a pipe is non-blocking: a full pipe answers EAGAIN, so
 * this retries for up to `deadlineMs`, then gives the rest up (the process is exiting).
 */
function writeAllSync(fd: number, text: string, deadlineMs = 2000) {
  let buffer = Buffer.from(text);
  const deadline = Date.now() + deadlineMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (buffer.length > 0) {
    try {
      buffer = buffer.subarray(writeSync(fd, buffer));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EAGAIN" || Date.now() > deadline) return;
      Atomics.wait(pause, 0, 0, 5);
    }
  }
}

let installed = false;

/**
 * The API server's output (server.ts): buffered on process.stdout as `createBufferedOutput`
 * says, flushed synchronously when the process exits (process.exit, a crash), with an uncaught
 * exception logged as an error line before Node reports it. Idempotent.
 */
export function bufferLogOutput(options?: { maxBytes?: number }) {
  if (installed) return;
  installed = true;
  output = createBufferedOutput(process.stdout as unknown as LogTarget, options);
  // Observes without handling: Node (or Sentry's handler) still reports the error and exits.
  process.on("uncaughtExceptionMonitor", (error, origin) => {
    log.error("uncaught exception", { error, origin });
  });
  process.on("exit", () => output.flushSync());
}

/** Waits until every line logged so far has been written (the API's shutdown, before exit). */
export function flushLogs(timeoutMs?: number): Promise<void> {
  return output.flush(timeoutMs);
}
