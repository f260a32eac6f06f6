import { describeRoute } from "hono-openapi";
import * as z from "zod";
import { AccountRoutes, sessionCookieName, sessionMiddleware } from "./account";
import { createAdminRoutes, requireAdmin } from "./admin";
import { AttachmentRoutes } from "./attachment";
import { createDevRoutes } from "./dev/dev.routes";
import { DocsRoutes } from "./dev/docs.routes";
import { createDevFaultRoutes } from "./dev/faults.routes";
import { HealthRoutes } from "./health";
import { createApp, createSite, mountApp } from "./http/app";
import { createOpenAPIDocument, jsonResponse, publicAccess } from "./http/openapi";
import { writeRateMiddleware } from "./limit/write-rate";
import { NoteRoutes } from "./note";
import { schedules } from "./schedules";
import { LocalStorageRoutes } from "./storage/local.routes";
import { tables } from "./tables";
import { queueAdmin } from "./task/admin-runtime";
import { createOperator } from "./task/operator";
import { tasks } from "./tasks";

/** The task operator behind the dev routes and the console: the app's tasks on this stage's queue. */
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
  // The operator console: the one admin check for everything under it (ADR 028).
  .use("/admin/*", requireAdmin)
  .route("/admin", createAdminRoutes({ tables, operator }))
  // Offline only (404 on deployed stages): the dev tools, and the API reference for people.
  .route("/dev/faults", createDevFaultRoutes(tasks))
  .route("/dev", createDevRoutes(operator))
  .route("/docs", DocsRoutes);

/**
 * OpenAPI 3.1, generated from the routes' `describeRoute` blocks and the same zod schemas that
 * validate the requests (http/openapi.ts adds the shared components and the platform's
 * responses). Linted by `npm run lint` (Redocly), every test response is checked against it
 * (test/contract.ts), and packages/openapi-client is generated from it (docs/decisions/024).
 */
const openAPI = createOpenAPIDocument(routes, {
  info: {
    title: "Slipway API",
    version: "1.0.0",
    description:
      "Team notes on the Slipway stack. Errors are one JSON envelope, `{error: {code, message, details?}}` (the `Error` schema); every response carries `x-request-id` and `x-trace-id` (the W3C trace id of the request: a valid incoming `traceparent` is continued, otherwise a new trace starts; quote it in error reports).",
    // The repository states no license yet: all rights reserved until it does (ADR 024).
    license: { name: "Proprietary: all rights reserved", identifier: "LicenseRef-Proprietary" },
  },
  servers: [
    {
      url: "/",
      description:
        "The site's own origin: the API is under /api beside the web app (CloudFront deployed, the dev server offline)",
    },
  ],
  tags: [
    { name: "health", description: "Liveness and readiness (health module)" },
    {
      name: "account",
      description: "Sign up, sign in and out, the signed-in user (account module)",
    },
    { name: "notes", description: "The signed-in user's notes (note module)" },
    {
      name: "attachments",
      description: "Files on notes, uploaded straight to storage (attachment module)",
    },
    {
      name: "admin",
      description:
        "The operator console: admins only (401 signed out, 403 for anyone else); every action is audited (admin module)",
    },
    {
      name: "dev",
      description: "Offline-only developer tools: 404 on deployed stages (dev module)",
    },
    { name: "meta", description: "This document" },
  ],
  // The name in force: `__Host-slipway_session` where cookies are Secure (deployed).
  sessionCookie: sessionCookieName(),
});

export const app = routes.get(
  "/openapi.json",
  describeRoute({
    operationId: "getOpenAPIDocument",
    summary: "This document",
    tags: ["meta"],
    security: publicAccess,
    responses: {
      200: jsonResponse(
        "The OpenAPI 3.1 document of this API",
        z.looseObject({
          openapi: z.literal("3.1.0"),
          info: z.looseObject({}),
          paths: z.looseObject({}),
        }),
      ),
    },
  }),
  openAPI.handler,
);

/** The document `GET /api/openapi.json` serves, without a request (test/contract.ts). */
export const openAPIDocument = openAPI.document;

export type AppType = typeof app;

/**
 * What the Node server serves: the API, and offline the local object store at `/storage` (before
 * the API, whose JSON-only checks would refuse its forms). Built by `createSite()`: a mounted
 * app's not-found handler does not apply to its parent, so the error contract is the site's own
 * and holds on every path the server answers (site.test.ts, server.test.ts for the bundle).
 */
export const site = mountApp(createSite().route("/storage", LocalStorageRoutes), "/", app);
