import { describeRoute, openAPIRouteHandler } from "hono-openapi";
import { AccountRoutes, sessionCookieName, sessionMiddleware } from "./account";
import { AttachmentRoutes } from "./attachment";
import { createDevRoutes } from "./dev/dev.routes";
import { HealthRoutes } from "./health";
import { createApp, createSite } from "./http/app";
import { writeRateMiddleware } from "./limit";
import { NoteRoutes } from "./note";
import { schedules } from "./schedules";
import { LocalStorageRoutes } from "./storage/local.routes";
import { createOperator } from "./task/operator";
import { queueAdmin } from "./task/runtime";
import { tasks } from "./tasks";

/** The task operator behind the offline dev routes: the app's tasks on the offline queue. */
const operator = createOperator({ tasks, schedules, queue: queueAdmin });

/** The composed API: one `.route()` per module, chained so `AppType` carries every route. */
const routes = createApp()
  .basePath("/api")
  // Resolves the session cookie into the actor for everything below.
  .use(sessionMiddleware)
  // Per-user write rate (QUOTA_WRITES_PER_MINUTE): 429 before any handler runs.
  .use(writeRateMiddleware)
  .route("/health", HealthRoutes)
  .route("/auth", AccountRoutes)
  .route("/notes", NoteRoutes)
  .route("/", AttachmentRoutes)
  // Offline only (404 on deployed stages).
  .route("/dev", createDevRoutes(operator));

/** OpenAPI 3.1, generated from the same zod schemas that validate the requests. */
export const app = routes.get(
  "/openapi.json",
  describeRoute({
    summary: "This document",
    tags: ["meta"],
    responses: { 200: { description: "OpenAPI 3.1" } },
  }),
  openAPIRouteHandler(routes, {
    // Its default drops paths whose last segment has a dot, like this one.
    excludeStaticFile: false,
    documentation: {
      openapi: "3.1.0",
      info: {
        title: "Slipway API",
        version: "1.0.0",
        description: "Team notes on the Slipway stack",
      },
      components: {
        // The name in force: `__Host-slipway_session` where cookies are Secure (deployed).
        securitySchemes: { session: { type: "apiKey", in: "cookie", name: sessionCookieName() } },
      },
    },
  }),
);

export type AppType = typeof app;

/**
 * What the Node server serves: the API, and offline the local object store at `/storage` (before
 * the API, whose JSON-only checks would refuse its forms). Built by `createSite()`: a mounted
 * app's not-found handler does not apply to its parent, so the error contract is the site's own
 * and holds on every path the server answers (site.test.ts, server.test.ts for the bundle).
 */
export const site = createSite().route("/storage", LocalStorageRoutes).route("/", app);
