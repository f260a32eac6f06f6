import { afterEach, describe, expect, it, vi } from "vitest";
import { client, rowCounts, sessionCookie, signupUser } from "../../test/app";
import { bootApp, freshDatabase } from "../../test/database";
import { errorOf } from "../../test/http";
import { rollback } from "../db/transaction";
import { cleanup } from "../maintenance/maintenance";

/** Sessions black-box through the app: lifetimes, revocation, fixation, the cookie's name. */

const DAY = 24 * 3600 * 1000;
afterEach(() => vi.useRealTimers());

const me = (cookie: string) => client(cookie).api.auth.me.$get();
const loginAs = (account: { email: string; password: string }, cookie?: string) =>
  client(cookie).api.auth.login.$post({
    json: { email: account.email, password: account.password },
  });

describe("auth: sessions", () => {
  it("a session dies 30 days after sign-in even if used every day; sliding never takes it further", async () =>
    rollback(async () => {
      // Fails without the absolute lifetime: daily use slid the expiry forward for ever.
      vi.useFakeTimers({ toFake: ["Date"] });
      const start = new Date("2030-01-01T12:00:00Z").getTime();
      vi.setSystemTime(start);
      const { cookie } = await signupUser();
      const end = start + 30 * DAY;
      let extended = 0;
      for (let day = 1; day < 30; day++) {
        vi.setSystemTime(start + day * DAY);
        const response = await me(cookie);
        expect(response.status).toBe(200);
        const expires = /Expires=([^;]+)/.exec(response.headers.get("set-cookie") ?? "")?.[1];
        if (expires) {
          extended++;
          expect(new Date(expires).getTime()).toBeLessThanOrEqual(end);
        }
      }
      expect(extended).toBeGreaterThan(5); // it did slide, up to the end
      vi.setSystemTime(end - 1000);
      expect((await me(cookie)).status).toBe(200);
      vi.setSystemTime(end);
      const dead = await me(cookie);
      expect(dead.status).toBe(401);
      expect(dead.headers.get("set-cookie")).toMatch(/slipway_session=;.*Max-Age=0/);
    }));

  it("maintenance.cleanup deletes sessions past their lifetime and login attempts once forgotten", async () =>
    rollback(async () => {
      const start = Date.now();
      const account = await signupUser();
      expect((await loginAs({ ...account, password: "wrong password" })).status).toBe(401);
      expect(await cleanup(new Date(start + 60_000))).toMatchObject({
        sessions: 0,
        loginThrottles: 0,
      });
      // 24 h after the last attempt it is forgotten; the 14-day session has expired by day 15.
      expect(await cleanup(new Date(start + DAY + 60_000))).toMatchObject({ loginThrottles: 1 });
      expect(await cleanup(new Date(start + 15 * DAY))).toMatchObject({ sessions: 1 });
    }));

  it("logout-everywhere revokes every session of the user and no one else's", async () =>
    rollback(async () => {
      const account = await signupUser();
      const laptop = sessionCookie(await loginAs(account));
      const phone = sessionCookie(await loginAs(account));
      const other = await signupUser();
      const response = await client(phone).api.auth["logout-everywhere"].$post();
      expect(response.status).toBe(204);
      expect(response.headers.get("set-cookie")).toMatch(/slipway_session=;.*Max-Age=0/);
      for (const cookie of [account.cookie, laptop, phone])
        expect((await me(cookie)).status).toBe(401);
      expect((await me(other.cookie)).status).toBe(200);
    }));

  it("logout-everywhere without a session is a 401 that revokes nothing", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const before = await rowCounts();
      for (const sent of [undefined, "slipway_session=not-a-session"]) {
        const response = await client(sent).api.auth["logout-everywhere"].$post();
        expect(response.status).toBe(401);
        expect(await errorOf(response)).toMatchObject({ code: "unauthorized" });
      }
      expect(await rowCounts()).toEqual(before);
      expect((await me(cookie)).status).toBe(200);
    }));

  it("login replaces the session the browser carried: the old token is revoked", async () =>
    rollback(async () => {
      // Fails without the fix: the old session stayed valid beside the new one.
      const account = await signupUser();
      const response = await loginAs(account, account.cookie);
      expect(response.status).toBe(200);
      const fresh = sessionCookie(response);
      expect(fresh).not.toBe(account.cookie);
      expect((await me(account.cookie)).status).toBe(401);
      expect((await me(fresh)).status).toBe(200);
    }));

  it("session fixation: a session planted in the browser dies when the victim signs in or up", async () =>
    rollback(async () => {
      const victim = await signupUser();
      const planted = (await signupUser()).cookie; // the attacker's own session
      const signedIn = await loginAs(victim, planted);
      expect(signedIn.status).toBe(200);
      expect((await me(planted)).status).toBe(401);
      const { user } = (await (await me(sessionCookie(signedIn))).json()) as { user: unknown };
      expect(user).toEqual(victim.user);

      const plantedAgain = (await signupUser()).cookie;
      const signedUp = await client(plantedAgain).api.auth.signup.$post({
        json: { email: `new.${Date.now()}@example.com`, password: "a strong password", name: "N" },
      });
      expect(signedUp.status).toBe(201);
      expect((await me(plantedAgain)).status).toBe(401);
    }));

  it("where cookies are Secure the cookie is __Host-slipway_session (Secure, Path=/, no Domain), and only that name is read", async () => {
    // Fails without the prefix: the cookie was slipway_session, which a sibling subdomain or a
    // plain-http page could plant.
    const fresh = await freshDatabase({ migrated: true });
    const booted = await bootApp({ ...fresh.env, COOKIE_SECURE: "true" }, fresh.handle);
    await booted.migrator.migrate(fresh.handle.db, booted.config.migrationsDir);
    const on = (cookie?: string) => client(cookie, booted.app).api.auth;
    const signup = await on().signup.$post({
      json: { email: "secure@example.com", password: "a strong password", name: "S" },
    });
    expect(signup.status).toBe(201);
    const header = signup.headers.get("set-cookie") ?? "";
    expect(header).toMatch(/^__Host-slipway_session=[\w-]{43};/);
    expect(header).toContain("Secure");
    expect(header).toContain("Path=/");
    expect(header).toContain("HttpOnly");
    expect(header).not.toMatch(/Domain=/i);
    const token = /^__Host-slipway_session=([\w-]+)/.exec(header)?.[1];
    expect((await on(`__Host-slipway_session=${token}`).me.$get()).status).toBe(200);
    // The unprefixed name carries none of the prefix's guarantees: not read where it is in force.
    expect((await on(`slipway_session=${token}`).me.$get()).status).toBe(401);
    const logout = await on(`__Host-slipway_session=${token}`).logout.$post();
    expect(logout.headers.get("set-cookie")).toMatch(
      /^__Host-slipway_session=;.*Max-Age=0.*Path=\/.*Secure/,
    );
  });
});
