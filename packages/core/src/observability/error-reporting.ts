import type * as SentryNode from "@sentry/node";
import { config } from "../config";
import { log } from "../log";
import { redactError, redactQueryText } from "./redact";
import { configureTracing, currentTrace, type RootSpan, type Trace } from "./trace";

/**
 * Error reporting to Sentry, only when a DSN is configured: without one, the SDK is not even
 * imported (no network, no cost, no cold-start weight). Reports carry ids (request, task,
 * message, user) and the stage and release; never emails, bodies, headers, cookies or the
 * parameters of a failed query.
 * 4xx are not reported; 5xx and failed tasks are.
 */

/**
 * The SDK surface used here: @sentry/node (the API), or the light Node SDK the Lambdas load
 * (packages/functions/src/sentry-sdk.ts), whose client type differs; init's result is unused.
 */
type Sdk = Pick<typeof SentryNode, "withScope" | "captureException" | "captureEvent" | "flush"> & {
  init(options: SentryNode.NodeOptions): unknown;
};

let sdk: Sdk | undefined;
/**
 * A deferred start (the Lambdas): the SDK is loaded with the first report instead of at a cold
 * start, and the reports made meanwhile wait for it; `flushErrors` waits for both.
 */
let deferred:
  | { load: () => Promise<Sdk>; queue: ((loaded: Sdk) => void)[]; loading?: Promise<void> }
  | undefined;

const DROPPED_INTEGRATIONS = new Set([
  "ContextLines",
  "LocalVariables",
  "LocalVariablesAsync",
  "Console",
  "RequestData",
  "Modules",
  // Per-request isolation scopes and spans for incoming and outgoing HTTP: a second async context
  // per request, which more than doubled a note read's CPU with a DSN (ADR 029). Reports get
  // their tags from withScope here, and traces are recorded by trace.ts.
  "Http",
  "NodeFetch",
]);

export interface ErrorContext {
  requestId?: string;
  userId?: string;
  task?: string;
  taskId?: string;
  messageId?: string;
  /** The trace the failure happened in, and its root span (read from the context when not given). */
  traceId?: string;
  spanId?: string;
}

/**
 * Initialises once; returns whether reporting is on. Lambdas pass their light SDK and `defer`:
 * their cold start then imports nothing of Sentry (~85 ms of a worker's cold import, measured by
 * `npm run bench -- worker-bundle`), and the first report of a process pays it instead. Until
 * then nothing is installed globally: an exception no handler catches is not reported from that
 * process (the Lambda runtime still logs it), which the handler wrapper
 * (packages/functions/src/sentry.ts) makes rare by catching what its handler throws.
 */
export async function initErrorReporting(
  load: () => Promise<Sdk> = () => import("./sentry-node"),
  options: { defer?: boolean } = {},
): Promise<boolean> {
  if (sdk || deferred) return true;
  if (!config().sentry.dsn) return false;
  // Traces go to Sentry from here on, as the errors do: sampled at TRACES_SAMPLE_RATE (ADR 029).
  configureTracing({ sampleRate: config().sentry.tracesSampleRate, sink: sentryTraces });
  if (options.defer) {
    deferred = { load, queue: [] };
    return true;
  }
  sdk = await started(load);
  return true;
}

async function started(load: () => Promise<Sdk>): Promise<Sdk> {
  const { dsn, release } = config().sentry;
  const loaded = await load();
  loaded.init({
    dsn,
    release,
    environment: config().stage,
    sendDefaultPii: false,
    // No tracesSampleRate: the SDK's own tracing stays off (no OpenTelemetry spans per request);
    // trace.ts records the spans and sends them as transactions (ADR 029).
    // Its ESM loader hooks only feed auto-instrumented spans, which no trace here records, and
    // registering them starts a loader thread: most of a cold start with a DSN (ADR 022).
    registerEsmLoaderHooks: false,
    beforeSend: scrub,
    // Transactions are built by trace.ts from what it recorded (no request data, SQL without
    // parameters); scrubbed all the same, in case a scope added something.
    beforeSendTransaction: scrub,
    beforeBreadcrumb: () => null, // breadcrumbs can hold URLs with tokens and console output
    // Integrations that copy source lines, local variables, console output, request data or the
    // dependency list into events: each can carry values we promise not to send.
    integrations: (defaults) =>
      defaults.filter((integration) => !DROPPED_INTEGRATIONS.has(integration.name)),
  });
  return loaded;
}

/** Keeps what identifies the failure and drops what could identify or expose a person. */
function scrub<
  E extends {
    request?: unknown;
    user?: { id?: string | number };
    extra?: unknown;
    exception?: { values?: { value?: string }[] };
  },
>(event: E): E {
  delete event.request;
  delete event.extra;
  // Errors reported through reportError are redacted already; this catches the ones the SDK
  // captures by itself (uncaught errors, the Lambda wrapper).
  for (const exception of event.exception?.values ?? [])
    if (exception.value) exception.value = redactQueryText(exception.value);
  if (event.user) event.user = event.user.id === undefined ? {} : { id: event.user.id };
  return event;
}

export function reportError(error: unknown, context: ErrorContext = {}): void {
  const trace = currentTrace();
  const withTrace: ErrorContext = trace
    ? { traceId: trace.traceId, spanId: trace.spanId, ...context }
    : context;
  // Redacted by capture, whether now or once a deferred SDK has loaded.
  use((loaded) => capture(loaded, error, withTrace));
}

/** Runs `send` with the SDK: now, or once a deferred one has loaded (the Lambdas' first use). */
function use(send: (loaded: Sdk) => void) {
  if (sdk) {
    send(sdk);
    return;
  }
  const pending = deferred;
  if (!pending) return;
  pending.queue.push(send);
  pending.loading ??= started(pending.load).then(
    (loaded) => {
      sdk = loaded;
      for (const queued of pending.queue.splice(0)) queued(loaded);
    },
    (failure: unknown) => {
      // Reported nowhere else: say so once per attempt, and try again with the next report.
      pending.queue.length = 0;
      pending.loading = undefined;
      log.error("error reporting could not start", { error: failure });
    },
  );
}

function capture(current: Sdk, error: unknown, context: ErrorContext) {
  current.withScope((scope) => {
    const { userId, spanId, ...tags } = context;
    for (const [key, value] of Object.entries(tags))
      if (value !== undefined) scope.setTag(key, value);
    if (userId) scope.setUser({ id: userId });
    // Sentry links an error to its trace through the trace context.
    if (context.traceId && spanId)
      scope.setContext("trace", { trace_id: context.traceId, span_id: spanId });
    current.captureException(redactError(error));
  });
}

/** Sampled traces, sent as Sentry transactions (the SDK's own tracing records nothing). */
const sentryTraces = {
  all: false,
  finish(trace: Trace, root: RootSpan) {
    const event = transactionEvent(trace, root);
    use((loaded) => loaded.captureEvent(event));
  },
};

const seconds = (ms: number) => ms / 1000;

/**
 * A Sentry transaction event (https://develop.sentry.dev/sdk/data-model/event-payloads/transaction/)
 * from a recorded root span and its children. SQL spans carry `db.system` so Sentry's Queries
 * view lists them; their description is the statement with placeholders, never its values.
 */
export function transactionEvent(trace: Trace, root: RootSpan) {
  const { traceId } = trace;
  const status = (ok: boolean) => (ok ? "ok" : "internal_error");
  return {
    type: "transaction" as const,
    transaction: root.name,
    transaction_info: {
      source: root.op === "http.server" ? ("route" as const) : ("task" as const),
    },
    start_timestamp: seconds(trace.start),
    timestamp: seconds(root.end),
    contexts: {
      trace: {
        trace_id: traceId,
        span_id: trace.spanId,
        parent_span_id: trace.parentSpanId,
        op: root.op,
        status: status(root.ok),
        origin: "manual" as const,
        data: root.data,
      },
    },
    spans: (trace.spans ?? []).map((span) => ({
      trace_id: traceId,
      span_id: span.spanId,
      parent_span_id: span.parentSpanId,
      op: span.op,
      description: span.description,
      start_timestamp: seconds(span.start),
      timestamp: seconds(span.end),
      status: status(span.ok),
      origin: "manual" as const,
      data: span.op === "db.sql.query" ? { "db.system": "postgresql" } : {},
    })),
    tags: Object.fromEntries(
      Object.entries(root.data).filter(([key]) => key === "requestId" || key === "task"),
    ),
  };
}

/** Sends what is queued (API shutdown, tests, each Lambda invocation's end). */
export async function flushErrors(timeoutMs = 2000): Promise<void> {
  await deferred?.loading;
  await sdk?.flush(timeoutMs);
}
