import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { client, sessionCookie, signupUser } from "../../test/app";
import { queryRows } from "../db/client";
import { rollback, useTransaction } from "../db/transaction";

describe("auth: happy paths", () => {
  it("signup: 201, the user (email trimmed and lower-cased), and a session cookie with the right flags", async () =>
    rollback(async () => {
      const response = await client().api.auth.signup.$post({
        json: {
          email: "  Ada.Lovelace@Example.COM ",
          password: "analytical engine",
          name: " Ada ",
        },
      });
      expect(response.status).toBe(201);
      expect(await response.json()).toEqual({
        user: {
          id: expect.stringMatching(/^usr_/),
          email: "ada.lovelace@example.com",
          name: "Ada",
          emailVerified: false,
          role: "member",
          createdAt: expect.any(String),
        },
      });
      const cookie = response.headers.get("set-cookie") ?? "";
      expect(cookie).toMatch(/^slipway_session=[\w-]{43};/); // 256 bits, base64url
      expect(cookie).toContain("HttpOnly");
      expect(cookie).toContain("SameSite=Lax");
      expect(cookie).toContain("Path=/");
      expect(cookie).not.toContain("Secure"); // plain-http offline run
    }));

  it("the session is stored hashed: the token itself is nowhere in the database", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const token = cookie.split("=")[1] ?? "";
      const rows = await useTransaction((tx) => tx.execute(sql`select token_hash from session`));
      expect(JSON.stringify(rows)).not.toContain(token);
    }));

  it("login with any letter case: 200 and a new session; me returns the user", async () =>
    rollback(async () => {
      const { email, password, user } = await signupUser();
      const response = await client().api.auth.login.$post({
        json: { email: email.toUpperCase(), password },
      });
      expect(response.status).toBe(200);
      const me = await client(sessionCookie(response)).api.auth.me.$get();
      expect(await me.json()).toEqual({ user });
    }));

  it("logout: 204, the cookie cleared, and the session revoked server-side", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const logout = await client(cookie).api.auth.logout.$post();
      expect(logout.status).toBe(204);
      expect(logout.headers.get("set-cookie")).toMatch(/slipway_session=;.*Max-Age=0/);
      // The old token no longer works, even if a client kept it.
      expect((await client(cookie).api.auth.me.$get()).status).toBe(401);
    }));

  it("sliding expiry: a session used late in its life is extended and its cookie renewed", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      // Age it: 2 days left of its 14.
      await useTransaction((tx) =>
        tx.execute(sql`update session set expires_at = now() + interval '2 days'`),
      );
      const me = await client(cookie).api.auth.me.$get();
      expect(me.status).toBe(200);
      expect(me.headers.get("set-cookie")).toContain("slipway_session=");
      const [left] = await useTransaction((tx) =>
        queryRows<{ days: number }>(
          tx,
          sql`select round(extract(epoch from expires_at - now()) / 86400)::int as days from session`,
        ),
      );
      expect(left).toEqual({ days: 14 });
      const fresh = await client(cookie).api.auth.me.$get();
      expect(fresh.headers.get("set-cookie")).toBeNull(); // recently extended: no write, no cookie
    }));
});
