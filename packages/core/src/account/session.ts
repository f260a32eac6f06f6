import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { withActor } from "../actor";
import { config } from "../config";
import * as Account from "./account";

/**
 * The session cookie's name. Where cookies are Secure it is `__Host-slipway_session`: browsers
 * take a `__Host-` cookie only if it is Secure, Path=/ and has no Domain, so neither a sibling
 * subdomain nor a plain-http page can plant or overwrite it. Plain-http local runs cannot set a
 * `__Host-` cookie at all, so there it is `slipway_session`.
 */
export const SESSION_COOKIE = "slipway_session";
const prefix = () => (config().session.secureCookie ? ("host" as const) : undefined);

/** The name in force: only this one is read (a stray unprefixed cookie carries no guarantee). */
export const sessionCookieName = () =>
  prefix() === "host" ? `__Host-${SESSION_COOKIE}` : SESSION_COOKIE;

declare module "hono" {
  interface ContextVariableMap {
    /** The signed-in user, when the request carries a live session. */
    user: Account.Info | undefined;
  }
}

/** HttpOnly, SameSite=Lax, Path=/, and Secure (then `__Host-`) except on plain-http local runs. */
export function setSessionCookie(c: Context, session: Account.Session) {
  setCookie(c, SESSION_COOKIE, session.token, {
    httpOnly: true,
    sameSite: "Lax",
    path: "/",
    secure: config().session.secureCookie,
    prefix: prefix(),
    expires: session.expiresAt,
  });
}

export function clearSessionCookie(c: Context) {
  deleteCookie(c, SESSION_COOKIE, {
    path: "/",
    secure: config().session.secureCookie,
    prefix: prefix(),
  });
}

export const sessionToken = (c: Context) => getCookie(c, SESSION_COOKIE, prefix());

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
