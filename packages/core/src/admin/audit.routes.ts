import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as z from "zod";
import { errorResponses, jsonResponse } from "../http/openapi";
import { validate } from "../http/validate";
import * as Audit from "./audit";
import { adminOnly, security, tags } from "./http";

/** The audit log, read-only: nothing in the console changes it (ADR 028). */
export const AuditRoutes = new Hono().get(
  "/",
  describeRoute({
    operationId: "adminListAudit",
    summary: "Operator actions, newest first (keyset)",
    tags,
    security,
    responses: {
      200: jsonResponse("A page", {
        entries: z.array(Audit.Info),
        nextCursor: z.string().nullable(),
      }),
      ...errorResponses(400),
      ...adminOnly,
    },
  }),
  validate("query", Audit.ListInput),
  async (c) => c.json(await Audit.list(c.req.valid("query")), 200),
);
