import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { client, sessionCookie, signupUser } from "../../test/app";
import { bootApp, freshDatabase } from "../../test/database";
import { rollback, useTransaction } from "../db/transaction";

/**
 * The session cache (session-cache.ts, ADR 021), black-box through the app: each request below
 * that expects 200 after its session row is gone is served from the cache, and each 401 proves
 * the cache let go. "Another process" revoking a session is simulated by deleting its row in the
 * database directly, which this process cannot see. Only Date is faked (timers stay real).
 */

afterEach(() => vi.useRealTimers());

const me = (cookie: string, target?: Parameters<typeof client>[1]) =>
  client(cookie, target).api.auth.me.$get();
const revokeElsewhere = () => useTransaction((tx) => tx.execute(sql`delete from session`));
const start = new Date("2030-01-01T12:00:00Z").getTime();

describe("auth: session cache", () => {
  it("a session revoked by another process works here for at most SESSION_CACHE_SECONDS (5 s), then is refused and its cookie cleared", async () =>
    rollback(async () => {
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(start);
      const { cookie } = await signupUser();
      expect((await me(cookie)).status).toBe(200); // read from the database, and kept
      await revokeElsewhere();
      vi.setSystemTime(start + 4_999);
      expect((await me(cookie)).status).toBe(200); // the bound: up to 5 s stale
      vi.setSystemTime(start + 5_000);
      const refused = await me(cookie);
      expect(refused.status).toBe(401);
      expect(refused.headers.get("set-cookie")).toMatch(/slipway_session=;.*Max-Age=0/);
    }));

  it("logout here takes effect at once, though the session was just cached", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      expect((await me(cookie)).status).toBe(200);
      expect((await client(cookie).api.auth.logout.$post()).status).toBe(204);
      // Fails without the cache forgetting it: this would be served for 5 s more.
      expect((await me(cookie)).status).toBe(401);
    }));

  it("logout-everywhere here revokes every cached session of the user at once, and no one else's", async () =>
    rollback(async () => {
      const account = await signupUser();
      const login = () =>
        client().api.auth.login.$post({
          json: { email: account.email, password: account.password },
        });
      const phone = sessionCookie(await login());
      const other = await signupUser();
      for (const cookie of [account.cookie, phone, other.cookie]) {
        expect((await me(cookie)).status).toBe(200);
      }
      expect((await client(phone).api.auth["logout-everywhere"].$post()).status).toBe(204);
      for (const cookie of [account.cookie, phone]) expect((await me(cookie)).status).toBe(401);
      expect((await me(other.cookie)).status).toBe(200);
    }));

  it("signing in over a cached session (fixation) kills the old token at once", async () =>
    rollback(async () => {
      const account = await signupUser();
      expect((await me(account.cookie)).status).toBe(200);
      const replaced = await client(account.cookie).api.auth.login.$post({
        json: { email: account.email, password: account.password },
      });
      expect(replaced.status).toBe(200);
      expect((await me(account.cookie)).status).toBe(401);
      expect((await me(sessionCookie(replaced))).status).toBe(200);
    }));

  it("a cached session still dies at its absolute lifetime to the millisecond", async () =>
    rollback(async () => {
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(start);
      const { cookie } = await signupUser();
      const end = start + 30 * 24 * 3_600_000;
      // Used daily so it slides (its sliding expiry then lies past the absolute end).
      for (const day of [7, 13, 20, 27]) {
        vi.setSystemTime(start + day * 24 * 3_600_000);
        expect((await me(cookie)).status).toBe(200);
      }
      vi.setSystemTime(end - 1);
      expect((await me(cookie)).status).toBe(200); // cached from here on
      vi.setSystemTime(end);
      expect((await me(cookie)).status).toBe(401);
    }));
});

/**
 * The app booted with a small cache, on a database of its own; helpers bound to that app. Its
 * clock is frozen: a check that a session is still served from the cache must not depend on
 * the machine doing the requests within SESSION_CACHE_SECONDS of real time.
 */
async function appWith(env: Record<string, string>) {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(start);
  const fresh = await freshDatabase({ migrated: true });
  const booted = await bootApp({ ...fresh.env, ...env }, fresh.handle);
  await booted.migrator.migrate(fresh.handle.db, booted.config.migrationsDir);
  const [helpers, transaction] = await Promise.all([
    import("../../test/app"),
    import("../db/transaction"),
  ]);
  return {
    ...helpers,
    me: (cookie: string) => me(cookie, booted.app),
    revokeElsewhere: () => transaction.useTransaction((tx) => tx.execute(sql`delete from session`)),
  };
}

describe("auth: session cache bounds", () => {
  it("holds at most SESSION_CACHE_MAX_ENTRIES sessions, the oldest read going first", async () => {
    const t = await appWith({ SESSION_CACHE_MAX_ENTRIES: "2" });
    const [a, b, c] = [await t.signupUser(), await t.signupUser(), await t.signupUser()];
    for (const user of [a, b, c]) expect((await t.me(user.cookie)).status).toBe(200);
    await t.revokeElsewhere();
    // a was pushed out by c and is read again (gone); b and c are still held.
    expect((await t.me(a.cookie)).status).toBe(401);
    expect((await t.me(b.cookie)).status).toBe(200);
    expect((await t.me(c.cookie)).status).toBe(200);
  });

  it("unknown tokens are never kept: a flood of them pushes no session out", async () => {
    const t = await appWith({ SESSION_CACHE_MAX_ENTRIES: "2" });
    const [a, b] = [await t.signupUser(), await t.signupUser()];
    for (const user of [a, b]) expect((await t.me(user.cookie)).status).toBe(200);
    for (let i = 0; i < 50; i++) {
      const forged = `slipway_session=${randomBytes(32).toString("base64url")}`;
      expect((await t.me(forged)).status).toBe(401);
    }
    await t.revokeElsewhere();
    // Still served from the cache: the 50 misses took no place in it.
    for (const user of [a, b]) expect((await t.me(user.cookie)).status).toBe(200);
  });

  it("SESSION_CACHE_SECONDS=0 turns it off: a revocation anywhere takes effect at once", async () => {
    const t = await appWith({ SESSION_CACHE_SECONDS: "0" });
    const { cookie } = await t.signupUser();
    expect((await t.me(cookie)).status).toBe(200);
    await t.revokeElsewhere();
    expect((await t.me(cookie)).status).toBe(401);
  });
});
