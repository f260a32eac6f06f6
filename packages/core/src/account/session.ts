import { getConnInfo } from "@hono/node-server/conninfo";
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

/**
 * The client's address. Behind N trusted proxies it is the Nth X-Forwarded-For entry from the
 * right (each proxy appends what it saw; anything left of that came from the client and can be
 * forged). Without proxies, the socket's address.
 */
export function clientIP(c: Context): string {
  const hops = config().trustedProxies;
  if (hops > 0) {
    const chain = (c.req.header("x-forwarded-for") ?? "")
      .split(",")
      .map((entry) => entry.trim())
      .filter(Boolean);
    return chain[chain.length - hops] ?? "unknown";
  }
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown"; // no socket (in-process requests)
  }
}

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
