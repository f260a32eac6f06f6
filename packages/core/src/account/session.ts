import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { withActor } from "../actor";
import { config } from "../config";
import * as Account from "./account";

export const SESSION_COOKIE = "slipway_session";

declare module "hono" {
  interface ContextVariableMap {
    /** The signed-in user, when the request carries a live session. */
    user: Account.Info | undefined;
  }
}

/** HttpOnly, SameSite=Lax, Path=/, and Secure except on plain-http local runs. */
export function setSessionCookie(c: Context, session: Account.Session) {
  setCookie(c, SESSION_COOKIE, session.token, {
    httpOnly: true,
    sameSite: "Lax",
    path: "/",
    secure: config().session.secureCookie,
    expires: session.expiresAt,
  });
}

export function clearSessionCookie(c: Context) {
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: config().session.secureCookie });
}

export const sessionToken = (c: Context) => getCookie(c, SESSION_COOKIE);

/** The client's address (http/client-address.ts: CloudFront's viewer address or the socket's). */
export { clientAddress as clientIP } from "../http/client-address";

/**
 * Resolves the session cookie into the request's actor. A stale cookie is cleared; a session that
 * slid forward gets its cookie renewed.
 */
export const sessionMiddleware = createMiddleware(async (c, next) => {
  const token = sessionToken(c);
  const found = token ? await Account.authenticate(token) : undefined;
  if (token && !found) clearSessionCookie(c);
  c.set("user", found?.user);
  if (!found) return next();
  if (found.extended) setSessionCookie(c, found.session);
  await withActor({ type: "user", userID: found.user.id }, () => next());
});
