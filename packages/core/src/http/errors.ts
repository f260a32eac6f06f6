import type { Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { TrieRouter } from "hono/router/trie-router";
import { ZodError } from "zod";
import { useActor } from "../actor";
import { isConnectionError } from "../db/availability";
import { AppError, type ErrorCode, errorStatus, NotFoundError, ValidationError } from "../error";
import { log } from "../log";
import { reportError } from "../observability/error-reporting";

/** The one place an error becomes an HTTP response. Unknown errors never leak their message. */
export function handleError(error: Error, c: Context): Response {
  const known = toAppError(error);
  if (known) {
    // Not a bug: the outage is logged once by db/availability.ts, and clients retry.
    const retryAfter =
      retryAfterOf(known) ??
      (known.code === "database_unavailable" ? RETRY_AFTER_SECONDS : undefined);
    if (retryAfter !== undefined) c.header("Retry-After", String(retryAfter));
    return c.json(known.toBody(), known.status);
  }

  log.error("unhandled error", { error, method: c.req.method, path: c.req.path });
  const actor = useActor();
  reportError(error, {
    requestId: c.get("requestId") as string | undefined,
    userId: actor.type === "user" ? actor.userID : undefined,
  });
  const body = new AppError("internal_error", "Something went wrong on our side").toBody();
  return c.json(body, 500);
}

/** What a 503 for a database outage asks clients to wait: about one probe of the database. */
const RETRY_AFTER_SECONDS = 2;

/**
 * Any error that says how long to wait (`details.retryAfterSeconds`: a rate limit, a busy
 * server) gets `Retry-After` from it, so no route sets the header by hand. Whole seconds, ≥ 1.
 */
function retryAfterOf(error: AppError): number | undefined {
  const details = error.details;
  if (typeof details !== "object" || details === null || !("retryAfterSeconds" in details)) {
    return undefined;
  }
  const seconds = details.retryAfterSeconds;
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) return undefined;
  return Math.max(1, Math.ceil(seconds));
}

function toAppError(error: Error): AppError | undefined {
  if (error instanceof AppError) return error;
  if (isConnectionError(error)) {
    return new AppError("database_unavailable", "The database is unavailable; try again shortly");
  }
  if (error instanceof ZodError) {
    // A domain function rejected its input: same shape as a rejected request.
    return ValidationError.fromIssues(error.issues);
  }
  if (error instanceof HTTPException && error.status < 500) {
    const code = (Object.keys(errorStatus) as ErrorCode[]).find(
      (candidate) => errorStatus[candidate] === error.status,
    );
    return new AppError(code ?? "bad_request", error.message || "Bad request");
  }
  return undefined;
}

/**
 * 404 for an unknown path, 405 (with `Allow`) for a known path asked with another method.
 * Hono answers both with 404, so the known routes are matched again here, per method.
 */
export function notFoundHandler(app: Hono<never>) {
  let router: TrieRouter<true> | undefined;
  let methods: string[] = [];
  let indexed = -1;

  return (c: Context): Response => {
    if (indexed !== app.routes.length) {
      router = new TrieRouter<true>();
      const routes = app.routes.filter((route) => route.method !== "ALL");
      for (const route of routes) router.add(route.method, route.path, true);
      methods = [...new Set(routes.map((route) => route.method))];
      indexed = app.routes.length;
    }
    const allowed = methods.filter(
      (method) => method !== c.req.method && (router?.match(method, c.req.path)[0].length ?? 0) > 0,
    );
    if (allowed.length > 0) {
      if (allowed.includes("GET")) allowed.push("HEAD");
      c.header("Allow", allowed.join(", "));
      const error = new AppError(
        "method_not_allowed",
        `${c.req.method} is not allowed on ${c.req.path}`,
        { allowed },
      );
      return c.json(error.toBody(), error.status);
    }
    const error = noRoute(c);
    return c.json(error.toBody(), error.status);
  };
}

/** The 404 for a path that has no route here (also what offline-only routes answer when deployed). */
export function noRoute(c: Context): AppError {
  return new NotFoundError(`No route for ${c.req.method} ${c.req.path}`);
}
