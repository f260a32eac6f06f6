import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as z from "zod";
import { errorResponse, errorResponses, jsonResponse } from "../http/openapi";
import { validate } from "../http/validate";
import { adminOnly, adminWrite, security, tags } from "./http";
import * as Users from "./users";

const notFound = errorResponse(404, "`not_found`: no such user");

/** The users view: find, inspect, sign out everywhere, disable and enable (each audited). */
export const UserRoutes = new Hono()
  .get(
    "/",
    describeRoute({
      operationId: "adminListUsers",
      summary: "Users by email, optionally those whose email starts with `email` (keyset)",
      tags,
      security,
      responses: {
        200: jsonResponse("A page", {
          users: z.array(Users.Info),
          nextCursor: z.string().nullable(),
        }),
        ...errorResponses(400),
        ...adminOnly,
      },
    }),
    validate("query", Users.ListInput),
    async (c) => c.json(await Users.list(c.req.valid("query")), 200),
  )
  .get(
    "/:id",
    describeRoute({
      operationId: "adminGetUser",
      summary: "One user",
      tags,
      security,
      responses: {
        200: jsonResponse("The user", { user: Users.Info }),
        ...errorResponses(400),
        ...adminOnly,
        404: notFound,
      },
    }),
    validate("param", Users.IDParam),
    async (c) => c.json({ user: await Users.get(c.req.valid("param").id) }, 200),
  )
  .post(
    "/:id/revoke-sessions",
    describeRoute({
      operationId: "adminRevokeUserSessions",
      summary: "End every session of the user: their next request is a 401 (audited)",
      tags,
      security,
      responses: {
        200: jsonResponse("How many sessions ended", { revoked: z.number().int() }),
        ...adminWrite,
        404: notFound,
      },
    }),
    validate("param", Users.IDParam),
    async (c) => c.json(await Users.revokeSessions(c.req.valid("param").id), 200),
  )
  .post(
    "/:id/disable",
    describeRoute({
      operationId: "adminDisableUser",
      summary:
        "Disable the account: sign-in fails as with a wrong password, sessions end (audited)",
      tags,
      security,
      responses: {
        200: jsonResponse("Done; `changed` is false if it was disabled already", {
          changed: z.boolean(),
          sessionsRevoked: z.number().int(),
        }),
        ...adminWrite,
        404: notFound,
      },
    }),
    validate("param", Users.IDParam),
    async (c) => c.json(await Users.disable(c.req.valid("param").id), 200),
  )
  .post(
    "/:id/enable",
    describeRoute({
      operationId: "adminEnableUser",
      summary: "Let a disabled account sign in again (audited)",
      tags,
      security,
      responses: {
        200: jsonResponse("Done; `changed` is false if it was not disabled", {
          changed: z.boolean(),
        }),
        ...adminWrite,
        404: notFound,
      },
    }),
    validate("param", Users.IDParam),
    async (c) => c.json(await Users.enable(c.req.valid("param").id), 200),
  );
