import type { Context } from "hono";
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { AppError } from "../error";
import {
  errorResponse,
  errorResponses,
  jsonResponse,
  optionalSession,
  publicAccess,
  signedIn,
} from "../http/openapi";
import { validate } from "../http/validate";
import * as Account from "./account";
import { clearSessionCookie, clientIP, sessionToken, setSessionCookie } from "./session";

// A 429 (or a busy 503) gets Retry-After from the error handler (http/errors.ts). The tag is the
// module's; 400/403/413/415/500/503 on every operation come from the platform (http/openapi.ts).
const tags = ["account"];
const busy = errorResponse(
  503,
  "`server_busy`: too many passwords waiting to be hashed (`Retry-After: 1`), or `database_unavailable`",
);

/** The request's address and the session it carried (a new session replaces it). */
const origin = (c: Context): Account.Origin => ({ ip: clientIP(c), replacing: sessionToken(c) });

export const AccountRoutes = new Hono()
  .post(
    "/signup",
    describeRoute({
      operationId: "signUp",
      summary: "Create an account and sign in",
      description:
        "Replaces the session the request carried, if any. At most 10 signups per address per hour (429 with Retry-After).",
      tags,
      security: publicAccess,
      responses: {
        201: jsonResponse("The new user; the session cookie is set", { user: Account.Info }),
        409: errorResponse(409, "`conflict`: an account with this email exists (`details.field`)"),
        429: errorResponse(429, "`rate_limited`: too many signups from this address"),
        503: busy,
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
      operationId: "signIn",
      summary: "Sign in",
      description:
        "Replaces the session the request carried, if any. After 5 failed attempts for an email each further attempt waits a delay that doubles from 1 minute up to 15; at most 20 attempts per address per 15 minutes. Either limit is a 429 with Retry-After.",
      tags,
      security: publicAccess,
      responses: {
        200: jsonResponse("The user; the session cookie is set", { user: Account.Info }),
        401: errorResponse(401, "`unauthorized`: wrong email or password"),
        429: errorResponse(429, "`rate_limited`: too many attempts for this email or address"),
        503: busy,
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
      operationId: "signOut",
      summary: "Sign out: the session is revoked server-side",
      description: "Works without a session too (nothing to revoke): signing out never fails.",
      tags,
      security: optionalSession,
      responses: { 204: { description: "Signed out; the session cookie is cleared" } },
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
      operationId: "signOutEverywhere",
      summary: "Sign out on every device: all of the user's sessions are revoked, this one too",
      tags,
      security: signedIn,
      responses: { 204: { description: "Signed out everywhere" }, ...errorResponses(401) },
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
      operationId: "getCurrentUser",
      summary: "The signed-in user",
      tags,
      security: signedIn,
      responses: { 200: jsonResponse("The user", { user: Account.Info }), ...errorResponses(401) },
    }),
    async (c) => {
      const user = c.get("user");
      if (!user) throw new AppError("unauthorized", "Sign in first");
      return c.json({ user }, 200);
    },
  );
