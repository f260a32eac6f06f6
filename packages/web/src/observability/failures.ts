/**
 * Which failures in the browser are reported, and with what: the decisions, apart from the SDK
 * (sentry.ts) so they are tested without one and cost the initial bundle a few hundred bytes.
 *
 * Reported: an uncaught error, an unhandled rejection, an API answer of 5xx and an API call that
 * never got an answer (network). Not reported: 4xx (the user's input, a session that ended: the
 * page shows them), a request the page aborted, a cross-origin "Script error." (no detail to act
 * on), and the unhandled rejection of an ApiError the 5xx report already covers.
 */

export type FailureKind = "uncaught" | "unhandled-rejection" | "api" | "network";

export interface Failure {
  error: Error;
  /** Searchable in Sentry; never user data (the path has no query, ids become `:id`). */
  tags: { kind: FailureKind } & Record<string, string>;
  /** The API's trace (its `x-trace-id`): the report joins the request's trace in Sentry. */
  traceId?: string;
  /** Groups reports of one endpoint and status together (their stacks are all the same). */
  fingerprint?: string[];
}

/** What the SDK chunk (sentry.ts) is started with. */
export interface ReportingOptions {
  dsn: string;
  release: string;
  environment: string;
}

/** What the SDK chunk gives back: a function that sends one failure. */
export type Capture = (failure: Failure) => void;

/** A W3C trace id: 32 lower-case hex digits, not all zero. */
const TRACE_ID = /^(?!0{32})[0-9a-f]{32}$/;

/** An API answer: reported when it is a 5xx. */
export function responseFailure(
  method: string,
  url: string,
  response: { status: number; headers: { get(name: string): string | null } },
): Failure | undefined {
  if (response.status < 500) return undefined;
  const route = routeOf(url);
  const verb = method.toUpperCase();
  const tags: Failure["tags"] = {
    kind: "api",
    method: verb,
    route,
    status: String(response.status),
  };
  const requestId = response.headers.get("x-request-id");
  if (requestId && /^[\w-]{1,128}$/.test(requestId)) tags.request_id = requestId;
  const traceId = response.headers.get("x-trace-id") ?? undefined;
  const traced = traceId && TRACE_ID.test(traceId) ? traceId : undefined;
  if (traced) tags.trace_id = traced;
  const error = named("ApiFailure", `${verb} ${route} answered ${response.status}`);
  return {
    error,
    tags,
    traceId: traced,
    fingerprint: ["api", verb, route, String(response.status)],
  };
}

/** An API call that threw instead of answering: reported unless the page aborted it. */
export function networkFailure(method: string, url: string, thrown: unknown): Failure | undefined {
  if (isAbort(thrown)) return undefined;
  const route = routeOf(url);
  const verb = method.toUpperCase();
  const reason = thrown instanceof Error ? thrown.message : String(thrown);
  const error = named("NetworkFailure", `${verb} ${route} failed: ${reason}`);
  return {
    error,
    tags: { kind: "network", method: verb, route },
    fingerprint: ["network", verb, route],
  };
}

/** A window `error` event. */
export function uncaughtFailure(event: { error?: unknown; message?: string }): Failure | undefined {
  const { error } = event;
  if (error instanceof Error) return { error, tags: { kind: "uncaught" } };
  // A script of another origin fails as "Script error." with nothing else: nothing to act on.
  if (error === undefined || error === null) {
    if (!event.message || /^Script error\.?$/.test(event.message)) return undefined;
    return { error: named("Error", event.message), tags: { kind: "uncaught" } };
  }
  return { error: named("Error", nonError(error)), tags: { kind: "uncaught" } };
}

/** A window `unhandledrejection` event's reason. */
export function rejectionFailure(reason: unknown): Failure | undefined {
  if (isAbort(reason)) return undefined;
  // api.ts's ApiError (status and code) of a 5xx: reported when its response arrived, with the
  // trace id.
  const { status, code } = (reason ?? {}) as { status?: unknown; code?: unknown };
  if (reason instanceof Error && typeof code === "string" && Number(status) >= 500)
    return undefined;
  const error = reason instanceof Error ? reason : named("UnhandledRejection", nonError(reason));
  return { error, tags: { kind: "unhandled-rejection" } };
}

/**
 * The path of a request, without its query and fragment (tokens travel there), with the segments
 * that look like ids replaced, so one endpoint is one route however many notes there are.
 */
export function routeOf(url: string): string {
  const path = new URL(url, "http://site.invalid").pathname;
  return path
    .split("/")
    .map((segment) => (/\d/.test(segment) && segment.length >= 8 ? ":id" : segment))
    .join("/");
}

function isAbort(thrown: unknown): boolean {
  return (thrown as { name?: unknown } | null)?.name === "AbortError";
}

function named(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

/** What was thrown that is not an Error: its type only, since its value may be anything. */
function nonError(value: unknown): string {
  return `Non-Error thrown: ${value === null ? "null" : typeof value}`;
}
