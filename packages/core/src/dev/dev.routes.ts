import { isIP } from "node:net";
import { type Context, Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { describeRoute } from "hono-openapi";
import * as z from "zod";
import { type Config, config } from "../config";
import { AppError } from "../error";
import { canonicalAddress, isLoopback, socketAddress } from "../http/client-address";
import { noRoute } from "../http/errors";
import {
  type ErrorStatus,
  errorResponse,
  errorResponses,
  jsonResponse,
  publicAccess,
} from "../http/openapi";
import { validate } from "../http/validate";
import { Mail } from "../mail";
import type { Operator } from "../task/operator";
import { bufferedTrace, traceBufferOn } from "./trace-buffer";

/**
 * Developer tools of the offline app. They exist only offline: on a deployed stage every route
 * here answers 404. `npm run tasks` talks to these while `npm run dev` holds the database.
 */
export function devToolsEnabled(settings: Config): boolean {
  return !settings.deployed && settings.tasks.kind === "local";
}

/** The names a browser uses for this machine itself; `[::1]` as a Host header writes it. */
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** `Host` without its port, lower-case: `[::1]:3000` → `[::1]`, `localhost:5173` → `localhost`. */
function hostName(host: string): string {
  const name = host.toLowerCase();
  const port = /:[0-9]*$/.exec(name);
  // A bare IPv6 literal has colons too: only a port after `]`, or in a name without brackets.
  if (!port || (name.startsWith("[") && !name.slice(0, port.index).endsWith("]"))) return name;
  return name.slice(0, port.index);
}

/**
 * DNS rebinding: a page on evil.example whose name is made to resolve to 127.0.0.1 reaches this
 * server from the browser, same-origin to itself, but its requests say `Host: evil.example`.
 * The dev tools answer only requests addressed to this machine by a loopback name.
 */
function addressedToLoopback(c: Context): boolean {
  const host = c.req.header("host") ?? new URL(c.req.url).host;
  return LOOPBACK_HOSTS.has(hostName(host));
}

/**
 * With HOST=0.0.0.0 a machine on the LAN reaches this server and can write `Host: localhost`
 * itself: the TCP peer must be this machine too. A request with no socket at all is this
 * process's own (`app.request` in tests; `npm run tasks` goes over loopback). A local proxy that
 * says whom it forwards for (`X-Forwarded-For`, as Vite's does with `xfwd`) must name only
 * loopback hops: its own peer may be on the LAN. Only ever a reason to refuse, never to allow.
 */
function fromThisMachine(c: Context): boolean {
  const overSocket = (c.env as { incoming?: unknown } | undefined)?.incoming !== undefined;
  if (!overSocket) return true;
  const peer = socketAddress(c);
  if (peer === undefined || !isLoopback(peer)) return false;
  const forwarded = c.req.header("x-forwarded-for");
  if (forwarded === undefined) return true;
  return forwarded.split(",").every((hop) => {
    const ip = hop.trim();
    return isIP(ip) !== 0 && isLoopback(canonicalAddress(ip));
  });
}

/** 404 deployed, 403 unless from and addressed to this machine: for every offline-only route. */
export const offlineOnly = createMiddleware(async (c, next) => {
  if (!devToolsEnabled(config())) {
    throw noRoute(c);
  }
  if (!fromThisMachine(c)) {
    throw new AppError(
      "forbidden",
      "The dev tools answer only requests from this machine (a loopback address)",
    );
  }
  if (!addressedToLoopback(c)) {
    throw new AppError(
      "forbidden",
      "The dev tools answer only requests to localhost, 127.0.0.1 or [::1]",
    );
  }
  await next();
});

const TraceParam = z.object({
  traceId: z.string().regex(/^[0-9a-f]{32}$/, { error: "expected 32 lower-case hex digits" }),
});
const TraceSpan = z.object({
  spanId: z.string(),
  parentSpanId: z.string().nullable(),
  op: z.string(),
  description: z.string(),
  start: z.string(),
  durationMs: z.number(),
  ok: z.boolean(),
  data: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});
const TraceView = z.object({
  traceId: z.string(),
  spans: z.array(TraceSpan),
  logs: z.array(z.record(z.string(), z.unknown())),
  dropped: z.object({ spans: z.number(), logs: z.number() }),
});

const RunTask = z.object({ task: z.string().min(1), payload: z.unknown().default({}) });

const DevMail = z.object({
  id: z.string(),
  from: z.string(),
  to: z.string(),
  subject: z.string(),
  text: z.string(),
  html: z.string().nullable(),
  sentAt: z.string(),
});
const Overview = z.object({
  queue: z.enum(["local", "sqs"]),
  tasks: z.array(z.string()),
  schedules: z.array(
    z.object({
      name: z.string(),
      expression: z.string(),
      timezone: z.string(),
      task: z.string(),
      next: z.string().nullable(),
    }),
  ),
  messages: z.object({ visible: z.number(), total: z.number() }),
  deadLetters: z.number().nullable(),
});
const DeadLetter = z.object({
  id: z.string(),
  body: z.string(),
  receiveCount: z.number(),
  sentAt: z.string(),
});

// Open to any request from this machine, and only offline: no session, 403 from anywhere else,
// 404 deployed. An unsafe request from a signed-in browser counts against its write rate (429).
const tags = ["dev"];
const doc = (
  operationId: string,
  summary: string,
  status: 200 | 202,
  body: ReturnType<typeof jsonResponse>,
  ...more: ErrorStatus[]
) =>
  describeRoute({
    operationId,
    summary,
    tags,
    security: publicAccess,
    responses: {
      [status]: body,
      403: errorResponse(403, "`forbidden`: not from this machine, or not addressed to localhost"),
      404: errorResponse(
        404,
        "`not_found`: a deployed stage (the dev tools exist only offline); to runTask, no such task (`details.tasks`)",
      ),
      ...errorResponses(...more),
    },
  });

/** The dev routes over the app's task operator (the composition root, api.ts, makes it). */
export const createDevRoutes = (operator: Operator) =>
  new Hono()
    .use(offlineOnly)
    .get(
      "/mail",
      doc(
        "listDevMail",
        "The dev mailbox: mail sent while offline, newest first",
        200,
        jsonResponse("The last 50 messages", { messages: z.array(DevMail) }),
      ),
      async (c) => c.json({ messages: await Mail.devMailbox() }, 200),
    )
    .get(
      "/traces/:traceId",
      doc(
        "getDevTrace",
        "One trace's spans and log lines (the API's and its tasks'), from the offline trace buffer",
        200,
        jsonResponse("The trace (the buffer keeps the last 100: dev/trace-buffer.ts)", TraceView),
        400,
      ),
      validate("param", TraceParam),
      async (c) => {
        const { traceId } = c.req.valid("param");
        const found = bufferedTrace(traceId);
        if (!found) {
          throw new AppError(
            "not_found",
            traceBufferOn()
              ? `No trace ${traceId} in the buffer (it keeps the last 100)`
              : "The trace buffer is off: DEV_TRACES=true turns it on (npm run dev does)",
          );
        }
        return c.json(found, 200);
      },
    )
    .get(
      "/tasks",
      doc(
        "getTaskOverview",
        "Tasks, schedules and queue depths",
        200,
        jsonResponse("The overview", Overview),
      ),
      async (c) => c.json(await operator.overview(), 200),
    )
    .get(
      "/tasks/dead-letters",
      doc(
        "listDeadLetters",
        "Dead letters, left in place",
        200,
        jsonResponse("The first 50", { deadLetters: z.array(DeadLetter) }),
      ),
      async (c) => c.json({ deadLetters: await operator.deadLetters() }, 200),
    )
    .post(
      "/tasks/redrive",
      doc(
        "redriveDeadLetters",
        "Dead letters back to the queue",
        200,
        jsonResponse("How many moved (null on SQS, where the move runs on its own)", {
          moved: z.number().nullable(),
        }),
        429,
      ),
      async (c) => c.json({ moved: await operator.redrive() }, 200),
    )
    .post(
      "/tasks/run",
      doc("runTask", "Queue a task now", 202, jsonResponse("Queued", { id: z.string() }), 429),
      validate("json", RunTask),
      async (c) => {
        const { task, payload } = c.req.valid("json");
        return c.json(await operator.run(task, payload), 202);
      },
    );
