import type { Context } from "hono";
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as z from "zod";
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
import { describeUserAgent } from "./user-agent";

// A 429 (or a busy 503) gets Retry-After from the error handler (http/errors.ts). The tag is the
// module's; 400/403/413/415/500/503 on every operation come from the platform (http/openapi.ts).
const tags = ["account"];
const busy = errorResponse(
  503,
  "`server_busy`: too many passwords waiting to be hashed (`Retry-After: 1`), or `database_unavailable`",
);

/** The request's address and the session it carried (a new session replaces it). */
const origin = (c: Context): Account.Origin => ({
  ip: clientIP(c),
  replacing: sessionToken(c),
  device: describeUserAgent(c.req.header("user-agent")),
});

/** The signed-in user and the session token they came with, or a 401. */
function signedInUser(c: Context): { user: Account.Info; token: string } {
  const user = c.get("user");
  const token = sessionToken(c);
  if (!user || !token) throw new AppError("unauthorized", "Sign in first");
  return { user, token };
}

const invalidToken = errorResponse(
  400,
  "`invalid_token`: the link's token is unknown, used or expired (nothing changed); or `validation_failed`",
);
const wrongPassword = errorResponse(
  401,
  "`unauthorized`: not signed in, or the password is wrong (counted as a failed sign-in)",
);
/** A 202's body: what happens next, for people (the same text whatever the outcome). */
const Accepted = { message: z.string() };
const accepted = (description: string) => jsonResponse(description, Accepted);

const tooMany = (what: string) => errorResponse(429, `\`rate_limited\`: ${what}`);

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
  )
  .post(
    "/verify-email",
    describeRoute({
      operationId: "verifyEmail",
      summary: "Confirm the account's email address with the token a verification mail carried",
      description:
        "The token is single-use and works for 24 hours, for the address it was mailed to. Needs no session (the link may be opened on another device).",
      tags,
      security: optionalSession,
      responses: {
        200: jsonResponse("The user, now verified", { user: Account.Info }),
        400: invalidToken,
      },
    }),
    validate("json", Account.TokenInput),
    async (c) => {
      const user = await Account.verifyEmail(c.req.valid("json"));
      return c.json({ user }, 200);
    },
  )
  .post(
    "/verify-email/resend",
    describeRoute({
      operationId: "resendVerificationEmail",
      summary: "Mail a new verification link (the previous one stops working)",
      description:
        "Accepted whether or not the address is already verified (then nothing is sent). At most 5 an hour.",
      tags,
      security: signedIn,
      responses: {
        202: accepted("Accepted: a new link is mailed unless the address is verified"),
        ...errorResponses(401),
        429: tooMany("too many verification mails asked for"),
      },
    }),
    async (c) => {
      const { user } = signedInUser(c);
      await Account.resendVerification(user);
      return c.json({ message: "Unless your address is verified, a new link is on its way" }, 202);
    },
  )
  .post(
    "/password-reset",
    describeRoute({
      operationId: "requestPasswordReset",
      summary: "Mail a password-reset link, if an account has this address",
      description:
        "Always 202 with the same body, after the same work whether or not the account exists: the worker looks the address up. The link works once, for 1 hour. At most 3 an hour per email and 10 per client address (429 with Retry-After).",
      tags,
      security: publicAccess,
      responses: {
        202: accepted("Accepted: a link is mailed if an account has the address"),
        429: tooMany("too many resets asked for this email or from this address"),
      },
    }),
    validate("json", Account.PasswordResetInput),
    async (c) => {
      await Account.requestPasswordReset(c.req.valid("json"), origin(c));
      return c.json(
        { message: "If an account has this address, a link to reset its password is on its way" },
        202,
      );
    },
  )
  .post(
    "/password-reset/confirm",
    describeRoute({
      operationId: "confirmPasswordReset",
      summary: "Set a new password with a reset token; signs in here and out everywhere else",
      description:
        "Every session of the user is revoked; a new one is opened for this device (the session cookie is set, as sign-in does). The password follows the signup rules.",
      tags,
      security: optionalSession,
      responses: {
        200: jsonResponse("The user; the session cookie is set", { user: Account.Info }),
        400: invalidToken,
        503: busy,
      },
    }),
    validate("json", Account.PasswordResetConfirmInput),
    async (c) => {
      const { user, session } = await Account.resetPassword(c.req.valid("json"), origin(c));
      setSessionCookie(c, session);
      return c.json({ user }, 200);
    },
  )
  .post(
    "/password",
    describeRoute({
      operationId: "changePassword",
      summary: "Change the password; every other session is revoked",
      description:
        "A wrong current password is a 401 and counts toward the sign-in limits of the account's email (429 with Retry-After past them).",
      tags,
      security: signedIn,
      responses: {
        204: { description: "Changed; this session stays signed in" },
        401: wrongPassword,
        429: tooMany("too many wrong passwords for this account or from this address"),
        503: busy,
      },
    }),
    validate("json", Account.ChangePasswordInput),
    async (c) => {
      const { user, token } = signedInUser(c);
      await Account.changePassword(user, token, c.req.valid("json"), origin(c));
      return c.body(null, 204);
    },
  )
  .get(
    "/sessions",
    describeRoute({
      operationId: "listSessions",
      summary: "The signed-in user's live sessions, newest first",
      description:
        "`lastUsedAt` is written at most once every 15 minutes per session, so it may be up to that stale.",
      tags,
      security: signedIn,
      responses: {
        200: jsonResponse("The sessions", { sessions: z.array(Account.SessionInfo) }),
        ...errorResponses(401),
      },
    }),
    async (c) => {
      const { user, token } = signedInUser(c);
      return c.json({ sessions: await Account.listSessions(user.id, token) }, 200);
    },
  )
  .delete(
    "/sessions/:id",
    describeRoute({
      operationId: "revokeSession",
      summary:
        "End one of the user's sessions (this one too, if named: then its cookie is cleared)",
      tags,
      security: signedIn,
      responses: { 204: { description: "Ended" }, ...errorResponses(401, 404) },
    }),
    validate("param", Account.SessionIDParam),
    async (c) => {
      const { user, token } = signedInUser(c);
      const { current } = await Account.revokeSession(user.id, c.req.valid("param").id, token);
      // This browser's own session: its cookie goes too, as on logout.
      if (current) clearSessionCookie(c);
      return c.body(null, 204);
    },
  )
  .delete(
    "/sessions",
    describeRoute({
      operationId: "revokeOtherSessions",
      summary: "End every session of the user except this one",
      tags,
      security: signedIn,
      responses: { 204: { description: "Ended" }, ...errorResponses(401) },
    }),
    async (c) => {
      const { user, token } = signedInUser(c);
      await Account.revokeOtherSessions(user.id, token);
      return c.body(null, 204);
    },
  )
  .delete(
    "/me",
    describeRoute({
      operationId: "deleteAccount",
      summary: "Delete the account and everything it holds",
      description:
        "Needs the password (checked as a sign-in). Removes the user, their sessions, notes, attachments (their files by background tasks) and the mail and queued tasks that name them; the address can sign up again.",
      tags,
      security: signedIn,
      responses: {
        204: { description: "Deleted; the session cookie is cleared" },
        401: wrongPassword,
        429: tooMany("too many wrong passwords for this account or from this address"),
        503: busy,
      },
    }),
    validate("json", Account.DeleteAccountInput),
    async (c) => {
      const { user } = signedInUser(c);
      await Account.deleteAccount(user, c.req.valid("json"), origin(c));
      clearSessionCookie(c);
      return c.body(null, 204);
    },
  )
  .post(
    "/email",
    describeRoute({
      operationId: "requestEmailChange",
      summary: "Start moving the account to a new address: a confirmation link is mailed there",
      description:
        "Nothing changes until the link is confirmed (`POST /api/auth/email/confirm`); a notice (the new address masked) goes to the current address. The same 202 whether or not another account has the new address (no enumeration): then no link is mailed, and the confirm would be a 409. At most 5 an hour.",
      tags,
      security: signedIn,
      responses: {
        202: accepted("Accepted: a confirmation link is on its way to the new address"),
        401: wrongPassword,
        429: tooMany("too many email changes, or wrong passwords"),
        503: busy,
      },
    }),
    validate("json", Account.ChangeEmailInput),
    async (c) => {
      const { user } = signedInUser(c);
      await Account.requestEmailChange(user, c.req.valid("json"), origin(c));
      return c.json({ message: "A confirmation link is on its way to the new address" }, 202);
    },
  )
  .post(
    "/email/confirm",
    describeRoute({
      operationId: "confirmEmailChange",
      summary: "Move the account to the address the token was mailed to (then verified)",
      description: "The token is single-use and works for 24 hours. Needs no session.",
      tags,
      security: optionalSession,
      responses: {
        200: jsonResponse("The user, with the new address", { user: Account.Info }),
        400: invalidToken,
        409: errorResponse(409, "`conflict`: another account took this address meanwhile"),
      },
    }),
    validate("json", Account.TokenInput),
    async (c) => {
      const user = await Account.confirmEmailChange(c.req.valid("json"));
      return c.json({ user }, 200);
    },
  );
