import type { Context } from "hono";
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { AppError } from "../error";
import { errorResponses, jsonResponse } from "../http/openapi";
import { validate } from "../http/validate";
import * as Account from "./account";
import { clearSessionCookie, clientIP, sessionToken, setSessionCookie } from "./session";

// A 429 (or a busy 503) gets Retry-After from the error handler (http/errors.ts).

/** The request's address and the session it carried (a new session replaces it). */
const origin = (c: Context): Account.Origin => ({ ip: clientIP(c), replacing: sessionToken(c) });

export const AccountRoutes = new Hono()
  .post(
    "/signup",
    describeRoute({
      summary: "Create an account and sign in",
      description:
        "Replaces the session the request carried, if any. At most 10 signups per address per hour (429 with Retry-After).",
      tags: ["auth"],
      responses: {
        201: jsonResponse("The new user; the session cookie is set", { user: Account.Info }),
        ...errorResponses(400, 403, 409, 429, 503),
      },
    }),
    validate("json", Account.SignupInput),
    async (c) => {
      const { user, session } = await Account.signup(c.req.valid("json"), origin(c));
      setSessionCookie(c, session);
      return c.json({ user }, 201);
    },
  )
  .post(
    "/login",
    describeRoute({
      summary: "Sign in",
      description:
        "Replaces the session the request carried, if any. After 5 failed attempts for an email each further attempt waits a delay that doubles from 1 minute up to 15; at most 20 attempts per address per 15 minutes. Either limit is a 429 with Retry-After.",
      tags: ["auth"],
      responses: {
        200: jsonResponse("The user; the session cookie is set", { user: Account.Info }),
        ...errorResponses(400, 401, 403, 429, 503),
      },
    }),
    validate("json", Account.LoginInput),
    async (c) => {
      const { user, session } = await Account.login(c.req.valid("json"), origin(c));
      setSessionCookie(c, session);
      return c.json({ user }, 200);
    },
  )
  .post(
    "/logout",
    describeRoute({
      summary: "Sign out: the session is revoked server-side",
      tags: ["auth"],
      responses: { 204: { description: "Signed out" }, ...errorResponses(403) },
    }),
    async (c) => {
      const token = sessionToken(c);
      if (token) await Account.logout(token);
      clearSessionCookie(c);
      return c.body(null, 204);
    },
  )
  .post(
    "/logout-everywhere",
    describeRoute({
      summary: "Sign out on every device: all of the user's sessions are revoked, this one too",
      tags: ["auth"],
      responses: { 204: { description: "Signed out everywhere" }, ...errorResponses(401, 403) },
    }),
    async (c) => {
      const user = c.get("user");
      if (!user) throw new AppError("unauthorized", "Sign in first");
      await Account.logoutEverywhere(user.id);
      clearSessionCookie(c);
      return c.body(null, 204);
    },
  )
  .get(
    "/me",
    describeRoute({
      summary: "The signed-in user",
      tags: ["auth"],
      responses: { 200: jsonResponse("The user", { user: Account.Info }), ...errorResponses(401) },
    }),
    async (c) => {
      const user = c.get("user");
      if (!user) throw new AppError("unauthorized", "Sign in first");
      return c.json({ user }, 200);
    },
  );
