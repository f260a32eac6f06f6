import type * as SentryNode from "@sentry/node";
import { config } from "../config";
import { log } from "../log";
import { redactError, redactQueryText } from "./redact";

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
type Sdk = Pick<typeof SentryNode, "withScope" | "captureException" | "flush"> & {
  init(options: SentryNode.NodeOptions): unknown;
};

let sdk: Sdk | undefined;
/**
 * A deferred start (the Lambdas): the SDK is loaded with the first report instead of at a cold
 * start, and the reports made meanwhile wait for it; `flushErrors` waits for both.
 */
let deferred:
  | { load: () => Promise<Sdk>; queue: [unknown, ErrorContext][]; loading?: Promise<void> }
  | undefined;

const DROPPED_INTEGRATIONS = new Set([
  "ContextLines",
  "LocalVariables",
  "LocalVariablesAsync",
  "Console",
  "RequestData",
  "Modules",
]);

export interface ErrorContext {
  requestId?: string;
  userId?: string;
  task?: string;
  taskId?: string;
  messageId?: string;
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
    tracesSampleRate: 0,
    // Its ESM loader hooks only feed auto-instrumented spans, which no trace here records, and
    // registering them starts a loader thread: most of a cold start with a DSN (ADR 022).
    registerEsmLoaderHooks: false,
    beforeSend: scrub,
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
  if (sdk) {
    capture(sdk, error, context);
    return;
  }
  const pending = deferred;
  if (!pending) return;
  pending.queue.push([error, context]); // redacted by capture, as a direct report is
  pending.loading ??= started(pending.load).then(
    (loaded) => {
      sdk = loaded;
      for (const [queued, queuedContext] of pending.queue.splice(0)) {
        capture(loaded, queued, queuedContext);
      }
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
    const { userId, ...tags } = context;
    for (const [key, value] of Object.entries(tags))
      if (value !== undefined) scope.setTag(key, value);
    if (userId) scope.setUser({ id: userId });
    current.captureException(redactError(error));
  });
}

/** Sends what is queued (API shutdown, tests, each Lambda invocation's end). */
export async function flushErrors(timeoutMs = 2000): Promise<void> {
  await deferred?.loading;
  await sdk?.flush(timeoutMs);
}
