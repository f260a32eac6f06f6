import { ServerResponse } from "node:http";
import { type Context, type ErrorHandler, Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import type { RequestIdVariables } from "hono/request-id";
import { matchedRoutes } from "hono/route";
import { secureHeaders } from "hono/secure-headers";
import { uniqueSymbol } from "hono-openapi";
import { config } from "../config";
import { withReadScope } from "../db/reader";
import { AppError } from "../error";
import { log, withLogContext } from "../log";
import { recordRequest } from "../observability/metrics";
import { finishTrace, parseTraceparent, startTrace, type Trace } from "../observability/trace";
import { originGuard } from "./client-address";
import { handleError, notFoundHandler } from "./errors";

export type AppEnv = { Variables: RequestIdVariables };

const bodyMethods = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * CSRF: a state-changing request must come from one of the site's origins. Browsers always send
 * `Origin` on cross-origin and on unsafe same-origin requests, so a missing one is refused too.
 */
function checkSameOrigin(c: Context<AppEnv>) {
  const origin = c.req.header("origin");
  if (!origin || !config().allowedOrigins.includes(origin)) {
    throw new AppError(
      "forbidden",
      origin ? `Requests from ${origin} are not allowed` : "The Origin header is required",
    );
  }
}
const jsonType = /^application\/([\w.-]+\+)?json$/i;

/**
 * Runs the rest of the request with its id and trace in every log line, logs one line per
 * request, and adds it to the in-process metrics (observability/metrics.ts: aggregated, written
 * once a minute). The one place a request's trace starts (ADR 029): a valid incoming
 * `traceparent` is continued, anything else starts a new trace; its id is on the response as
 * `x-trace-id`.
 */
const requestLog = createMiddleware<AppEnv>(async (c, next) => {
  const started = performance.now();
  const trace = startTrace(parseTraceparent(c.req.header("traceparent")));
  defaultHeader(c, "x-trace-id", trace.traceId);
  await withLogContext(
    { requestId: c.get("requestId") },
    async () => {
      await next();
      const elapsed = performance.now() - started;
      log.info("request", {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        durationMs: Math.round(elapsed),
      });
      recordRequest(handlerPattern(c), c.res.status, elapsed);
      if (trace.spans) finishRequest(c, trace);
    },
    trace,
  );
});

/** The request's root span, for a recorded trace: named by its route, not its path (no ids). */
function finishRequest(c: Context<AppEnv>, trace: Trace) {
  const status = c.res.status;
  const route = handlerPattern(c) ?? "(no route)";
  finishTrace(trace, {
    op: "http.server",
    name: `${c.req.method} ${route}`,
    ok: status < 500,
    data: { "http.response.status_code": status, requestId: c.get("requestId") },
  });
}

/**
 * The pattern of the route that serves the request (`/api/notes/:id`), never the raw path; none
 * when only middleware matched (a 404 or 405). Read from the matched routes rather than the one
 * that answered, so a 429 from the write-rate middleware still counts under its route's group.
 */
function handlerPattern(c: Context<AppEnv>): string | undefined {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const route = routes[i];
    if (route && route.method !== "ALL") return route.path;
  }
  return undefined;
}

/**
 * The API speaks JSON only: a body of another type gets 415, and malformed JSON gets 400 here,
 * once, for every route (the parsed body is cached for the validators). Run by `createApp()`'s
 * checks for body methods only.
 */
const jsonBodies = createMiddleware<AppEnv>(async (c, next) => {
  const declared = framedLength(c);
  if (declared === 0) return next();
  // Adapters differ on Content-Length (absent on chunked uploads and on some constructed
  // Requests), so without a length Node vouches for, look at the body itself. bodiesWithin has
  // already bounded it, and Hono caches it.
  if (declared === undefined && c.req.raw.body === null) return next();
  const text = await c.req.text();
  if (text.length === 0) return next();

  const mediaType = c.req.header("content-type")?.split(";")[0]?.trim() ?? "";
  if (!jsonType.test(mediaType)) {
    throw new AppError(
      "unsupported_media_type",
      `Request bodies must be application/json, not ${mediaType || "untyped"}`,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new AppError("malformed_json", "The request body is not valid JSON");
  }
  // Parsed once: validators and handlers calling c.req.json() get this value.
  c.req.bodyCache.json = Promise.resolve(body);
  return next();
});

/**
 * The request's id (`x-request-id` on its response, a well-formed incoming one kept), its one
 * log line, and the origin guard, once per request: the outermost app (the site, or an app made
 * by `createApp()` served alone) runs them, and an app mounted in it finds the id set and skips
 * them. One middleware rather than three: each middleware is an async hop per request.
 */
const requestContext = createMiddleware<AppEnv>(async (c, next) => {
  if (c.get("requestId")) return next();
  const id = requestIdOf(c);
  c.set("requestId", id);
  defaultHeader(c, "x-request-id", id);
  // Every answer, errors and 404s included, is one user's: CloudFront (whose cache policy applies
  // to /api too) and browsers must never keep it. The offline store's downloads are presigned
  // links to one user's files: the same holds there. A route that says how its answer may be
  // kept (a conditional read: `private, no-cache`) keeps its word. (An error thrown after a
  // route answered is made by Hono from that answer and copies its headers, this one included,
  // served or not: no route here throws after answering; `revalidatedJSON` is always last.)
  const outgoing = nodeResponse(c);
  outgoing?.setHeader("cache-control", "no-store");
  // A scope for the request's reads (db/reader.ts): once it writes, it reads the primary.
  await withReadScope(() => requestLog(c, () => contained(c, () => originGuard(c, next))));
  if (!outgoing) noStore(c);
});

/**
 * A well-formed incoming `x-request-id` (an edge's, a client's: up to 255 of `[A-Za-z0-9_=-]`,
 * Hono's request-id rule, so it cannot forge a log line), else a new UUID.
 */
function requestIdOf(c: Context<AppEnv>): string {
  const incoming = c.req.header("x-request-id");
  return incoming && incoming.length <= 255 && !/[^\w\-=]/.test(incoming)
    ? incoming
    : crypto.randomUUID();
}

/**
 * Node's response, when @hono/node-server serves the request and has not written its head yet;
 * undefined in process (`app.request()`, the tests, the web client's in-process API).
 */
function nodeResponse(c: Context<AppEnv>): ServerResponse | undefined {
  const outgoing = (c.env as { outgoing?: unknown } | undefined)?.outgoing;
  return outgoing instanceof ServerResponse && !outgoing.headersSent ? outgoing : undefined;
}

/**
 * A header every response of the request carries unless the route sets its own. Served by Node,
 * it goes straight onto Node's response (`setHeader`), which `writeHead` merges with the route's
 * headers (the route's value wins). Through Hono's `c.header()` each such header made the
 * response's headers an undici `Headers`, validated per `set`, that @hono/node-server then turned
 * back into an object for `writeHead`: with the security headers, a dozen per response (ADR 020).
 * In process, Hono's way: there is no Node response.
 */
function defaultHeader(c: Context<AppEnv>, name: string, value: string) {
  const outgoing = nodeResponse(c);
  if (outgoing) outgoing.setHeader(name, value);
  else c.header(name, value);
}

/**
 * Runs `step` as Hono's compose runs a middleware of its own: an error it throws becomes the
 * error response here, so what wraps it (the log line, the security headers) still finishes on
 * a response. What `step` calls `next()` on is compose's, which does the same.
 */
async function contained(c: Context<AppEnv>, step: () => Promise<unknown>) {
  try {
    await step();
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    c.error = error;
    c.res = await handleError(error, c);
  }
}

/**
 * In process, `Cache-Control: no-store` on the finished response, in place. `c.header()` after
 * the handler copies the whole response first (in @hono/node-server, into a full undici
 * Response: ~5% of a note read's CPU); only a response whose headers are immutable
 * (`Response.redirect`, a `fetch()` result) needs that copy.
 */
function noStore(c: Context<AppEnv>) {
  // A route that says how its answer may be kept (a conditional read: `private, no-cache`) keeps
  // its word (see requestContext).
  if (c.res.headers.has("cache-control")) return;
  try {
    c.res.headers.set("cache-control", "no-store");
  } catch {
    c.header("cache-control", "no-store");
  }
}

/**
 * The error contract (ADR 003) on `app`: every error, and every path nothing serves (404, or 405
 * with `Allow` from all the routes mounted in it), is the JSON envelope. Hono uses only the
 * outermost app's not-found handler, so the app a server serves must be made here too.
 */
function withErrorContract<App extends Hono<AppEnv>>(app: App): App {
  app.onError(handleError);
  app.notFound(notFoundHandler(app as unknown as Hono<never>));
  return app;
}

/**
 * The root of what the Node server serves (`site` in api.ts): `createApp()`'s API and, beside
 * it, routes that are not the API (the offline store, mounted first, so the API's request checks
 * do not run on its routes). Request ids, request logs and the error contract on every path.
 * The API, mounted at the root, keeps its middleware there: a request no route serves passes
 * the API's checks before its 404 or 405, as under `/api`. Deployed, `originGuard` refuses, on
 * every path, what did not come through CloudFront (http/client-address.ts).
 */
export function createSite() {
  return withErrorContract(new Hono<AppEnv>().use(requestContext));
}

/**
 * Mounts `app` (made by `createApp()`) in `site` at `path`, with only the handlers that do
 * something at request time. Each handler a request passes is an async hop (a promise, a closure,
 * compose's bookkeeping), and the app holds two kinds that do nothing when served from here:
 * - hono-openapi's `describeRoute` middleware, one per operation: it only calls `next()`; the
 *   OpenAPI document is generated from the app itself (api.ts), which keeps them.
 * - the app's own `requestContext`: the site's has run it already.
 * And Hono's `.route()` wraps every handler of a sub-app that has its own error handler in one
 * more async layer running that handler, per request and per middleware. Both apps have the same
 * one (`withErrorContract`), and the site's catches an error where it is thrown, as the wrapper
 * would, so the handlers are mounted without the wrappers.
 */
export function mountApp<Site extends Hono<AppEnv>, App extends Hono<AppEnv>>(
  site: Site,
  path: string,
  app: App,
) {
  // `errorHandler` is Hono's (private in its types): if a release renames it, this throws at
  // boot, in every test, rather than mounting with a different error handler.
  if (
    errorHandling(app).errorHandler !== handleError ||
    errorHandling(site).errorHandler !== handleError
  ) {
    throw new Error("mountApp mounts an app made by createApp() in one made by createSite()");
  }
  // What `.route()` reads of the app, seen through a view: the app itself is left as it was.
  const served = Object.create(app, {
    routes: { value: app.routes.filter((route) => !passesThrough(route.handler)) },
    errorHandler: { value: defaultErrorHandler },
  }) as App;
  return site.route(path, served);
}

/** A handler that only calls `next()` where `mountApp` mounts it (see there). */
export function passesThrough(handler: unknown): boolean {
  if (handler === requestContext) return true;
  // hono-openapi marks its middleware with `uniqueSymbol`; describeRoute's mark holds the spec.
  return (
    typeof handler === "function" &&
    handler.name === "describeRoute" &&
    (handler as { [uniqueSymbol]?: { spec?: unknown } })[uniqueSymbol]?.spec !== undefined
  );
}
type ErrorHandling = { errorHandler: ErrorHandler };
const errorHandling = (app: Hono<AppEnv>) => app as unknown as ErrorHandling;
/** Hono's own error handler: `.route()` adds no wrapper for a sub-app that has it. */
const defaultErrorHandler = errorHandling(new Hono()).errorHandler;

/**
 * A Hono app with the platform's middleware and error contract; modules' routes are added to it
 * with `.route()`. Every response carries `x-request-id`; errors are `{ error: { code, message } }`.
 * Served by the Node server mounted in `createSite()`, by tests and the web client directly.
 */
export function createApp() {
  const limit = config().bodyLimitBytes;
  // A route's own value of one of these (none sets one today) is kept, in process as served.
  const headers = secureHeaders({ overwrite: false });
  const security = securityHeaders(headers);
  const withinLimit = bodiesWithin(limit);
  const bodyChecks = (c: Context<AppEnv>, next: () => Promise<void>) => {
    if (!bodyMethods.has(c.req.method)) return next();
    return contained(c, () => {
      checkSameOrigin(c);
      return withinLimit(c, async () => {
        await jsonBodies(c, next);
      });
    });
  };
  // The API's checks in one middleware (one async hop per request instead of five): security
  // headers on every response; for a body method, the CSRF origin check, the size limit, and the
  // JSON-only body. Served by Node, the security headers are default headers (`defaultHeader`).
  const checks = createMiddleware<AppEnv>(async (c, next) => {
    const { pairs } = security;
    const outgoing = pairs && nodeResponse(c);
    if (pairs && outgoing) {
      for (const [name, value] of pairs) outgoing.setHeader(name, value);
      await bodyChecks(c, next);
      return;
    }
    await headers(c, () => bodyChecks(c, next));
  });
  const app = new Hono<AppEnv>().use(requestContext).use(checks);
  return withErrorContract(app);
}

/**
 * The headers Hono's `secureHeaders` middleware puts on a response, as name/value pairs, read once
 * from what it does to one (its option handling stays the library's). Until they are known (the
 * first requests of a process, if any come that soon) the middleware itself runs.
 */
function securityHeaders(middleware: MiddlewareHandler) {
  const found: { pairs?: [string, string][] } = {};
  const probe = new Hono().use(middleware).get("/", (c) => c.body(null, 204));
  Promise.resolve(probe.request("/")).then(
    (response) => {
      found.pairs = [...response.headers];
    },
    // Not expected (it is the library's own middleware on an empty route); the middleware then
    // keeps running on every response, as it did before, and the failure is not hidden.
    (error: unknown) => log.error("security header probe failed", { error }),
  );
  return found;
}

/**
 * The body's length when Node's HTTP parser frames it by Content-Length (a request served by
 * @hono/node-server with a valid Content-Length and no Transfer-Encoding): the parser then
 * delivers exactly that many bytes, so the header can be trusted. Undefined otherwise (a chunked
 * body, or a Request made in process, whose header nothing checks).
 */
function framedLength(c: Context<AppEnv>): number | undefined {
  if ((c.env as { incoming?: unknown } | undefined)?.incoming === undefined) return undefined;
  if (c.req.header("transfer-encoding") !== undefined) return undefined;
  const length = c.req.header("content-length");
  return length !== undefined && /^\d{1,15}$/.test(length) ? Number(length) : undefined;
}

/**
 * BODY_LIMIT_BYTES on every request that can carry a body: `createApp()`'s checks run it for
 * body methods only (GET and HEAD never have one: a Fetch Request cannot, so @hono/node-server
 * gives them none). A body
 * framed by Content-Length is checked by its length, and then read by @hono/node-server straight
 * from the socket; anything else goes through Hono's bodyLimit, which counts the stream. Both
 * matter for speed: touching `c.req.raw.body` makes @hono/node-server build a full undici Request
 * and a web stream for the body (~7% of a note read's CPU when it was done for GETs, ~5% of a
 * creation's).
 */
function bodiesWithin(limit: number): MiddlewareHandler<AppEnv> {
  const tooLarge = () =>
    new AppError("payload_too_large", `Request bodies are limited to ${limit} bytes`, {
      limitBytes: limit,
    });
  const check = bodyLimit({
    maxSize: limit,
    onError: () => {
      throw tooLarge();
    },
  });
  return (c, next) => {
    const declared = framedLength(c);
    if (declared === undefined) return check(c, next);
    if (declared > limit) throw tooLarge();
    return next();
  };
}
