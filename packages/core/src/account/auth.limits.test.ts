import { scryptSync } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterEach, describe, expect, it, onTestFinished, vi } from "vitest";
import { client, signupUser } from "../../test/app";
import { bootApp, freshDatabase } from "../../test/database";
import { errorOf } from "../../test/http";
import { queryRows } from "../db/client";
import { rollback, useTransaction } from "../db/transaction";
import * as Hashing from "./password";

/**
 * The sign-in limits, black-box through the app (README, "Security model"): per email a growing
 * delay after 5 attempts, checked before the password is; per address caps on attempts and
 * signups. Time is frozen or moved with fake Dates (the limits read the app's clock).
 */

const SECRET = "a-test-origin-secret-of-32-characters";
const START = new Date("2030-01-01T12:00:10Z"); // 10 s into a 15-minute window

let clock = START.getTime();
function freezeTime() {
  vi.useFakeTimers({ toFake: ["Date"] });
  clock = START.getTime();
  vi.setSystemTime(clock);
}
const advance = (seconds: number) => {
  clock += seconds * 1000;
  vi.setSystemTime(clock);
};
afterEach(() => vi.useRealTimers());

const login = (email: string, password: string) =>
  client().api.auth.login.$post({ json: { email, password } });

async function expectLimited(response: Response, retryAfterSeconds: number) {
  expect(response.status).toBe(429);
  expect(response.headers.get("retry-after")).toBe(String(retryAfterSeconds));
  const error = await errorOf(response);
  expect(error).toMatchObject({ code: "rate_limited", details: { retryAfterSeconds } });
  return error;
}

/**
 * The app on a database of its own with a pool of 10 (on Postgres the requests really run at
 * once), behind the origin secret, so each request can say which address it comes from.
 */
async function site() {
  const fresh = await freshDatabase({ migrated: true });
  // Postgres: the app opens its own pool of 10 on that database. PGlite: the fresh handle (one
  // connection whatever the pool; opening another would mean another initdb).
  const booted = await bootApp(
    { ...fresh.env, DATABASE_POOL_MAX: "10", ORIGIN_SECRET: SECRET },
    fresh.env.DATABASE_URL ? undefined : fresh.handle,
  );
  await booted.migrator.migrate((await booted.client.database()).db, booted.config.migrationsDir);
  const { auth } = client(undefined, booted.app).api;
  const from = (ip: string) => ({
    headers: { "x-slipway-origin-secret": SECRET, "cloudfront-viewer-address": `${ip}:40123` },
  });
  return {
    signup: (email: string, ip: string) =>
      auth.signup.$post({ json: { email, password: "a strong password", name: "N" } }, from(ip)),
    login: (email: string, password: string, ip: string) =>
      auth.login.$post({ json: { email, password } }, from(ip)),
    /** This app's own modules (bootApp imported a fresh module graph). */
    hashing: () => import("./password"),
    rowCounts: async () => (await import("../../test/app")).rowCounts(),
  };
}

describe("auth: login limits", () => {
  it("20 wrong passwords in parallel for one account: exactly 5 are verified, 15 answered 429 with Retry-After", async () => {
    // Fails without the reservation: each request read the failure count before any was
    // recorded, so all 20 ran the hash.
    const app = await site();
    expect((await app.signup("target@example.com", "198.51.100.1")).status).toBe(201);
    const verify = vi.spyOn(await app.hashing(), "verifyPassword");
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        app.login("target@example.com", `wrong password ${i}`, "198.51.100.2"),
      ),
    );
    expect(verify).toHaveBeenCalledTimes(5);
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([...Array(5).fill(401), ...Array(15).fill(429)]);
    for (const response of responses.filter((r) => (r.status as number) === 429)) {
      expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(59);
      expect(await errorOf(response)).toMatchObject({ code: "rate_limited" });
    }
  });

  it("after 5 failures each attempt waits 1, 2, 4, 8 then 15 minutes; the right password after the wait signs in", async () =>
    rollback(async () => {
      freezeTime();
      const { email, password } = await signupUser();
      for (let i = 0; i < 5; i++) expect((await login(email, "wrong password")).status).toBe(401);
      for (const delay of [60, 120, 240, 480, 900, 900]) {
        await expectLimited(await login(email, password), delay); // even the right one waits
        advance(delay - 1);
        await expectLimited(await login(email, password), 1);
        advance(1);
        expect((await login(email, "wrong password")).status).toBe(401);
      }
      await expectLimited(await login(email, password), 900); // capped
      advance(900);
      expect((await login(email, password)).status).toBe(200); // not a lockout
      // The success forgot the failures: 5 free attempts again.
      for (let i = 0; i < 5; i++) expect((await login(email, "wrong password")).status).toBe(401);
      await expectLimited(await login(email, password), 60);
      // And 24 h without an attempt forget them too.
      advance(24 * 3600);
      expect((await login(email, password)).status).toBe(200);
    }));

  it("however many attempts have piled up, the wait stays at most 15 minutes", async () =>
    rollback(async () => {
      freezeTime();
      const { email, password } = await signupUser();
      await login(email, "wrong password");
      // Weeks of an attacker taking every slot (2^999995 minutes would overflow, not cap).
      await useTransaction((tx) =>
        tx.execute(sql`update login_throttle set attempts = 1000000 where email = ${email}`),
      );
      await expectLimited(await login(email, password), 900);
      advance(900);
      expect((await login(email, password)).status).toBe(200);
    }));

  it("an unknown email is limited exactly like a known one (the 429 tells no account apart)", async () =>
    rollback(async () => {
      freezeTime();
      for (let i = 0; i < 5; i++) {
        expect((await login("nobody@example.com", "wrong password")).status).toBe(401);
      }
      const error = await expectLimited(await login("nobody@example.com", "wrong password"), 60);
      const { email } = await signupUser();
      for (let i = 0; i < 5; i++) await login(email, "wrong password");
      expect(await errorOf(await login(email, "wrong password"))).toEqual(error);
    }));

  it("an attacker taking every slot from its own address does not keep the owner out: the growing delay is per email and address block", async () => {
    // Fails with the delay per email alone: one request from anywhere each time the wait ended
    // kept the right password out for good (attack finding 1).
    freezeTime();
    const app = await site();
    expect((await app.signup("owner@example.com", "192.0.2.1")).status).toBe(201);
    for (let i = 0; i < 5; i++) {
      expect((await app.login("owner@example.com", "wrong", "198.51.100.66")).status).toBe(401);
    }
    await expectLimited(await app.login("owner@example.com", "wrong", "198.51.100.66"), 60);
    for (let round = 0; round < 3; round++) {
      advance(15 * 60);
      expect((await app.login("owner@example.com", "wrong", "198.51.100.66")).status).toBe(401);
      // The owner, a second later, from their own address.
      expect((await app.login("owner@example.com", "a strong password", "192.0.2.1")).status).toBe(
        200,
      );
    }
  });

  it("per email over all addresses at most 100 attempts a day are checked: the 101st waits for the day's window, whatever the address", async () => {
    // Fails without the per-email cap: 5 free attempts from each of 21 addresses were all checked.
    freezeTime();
    const app = await site();
    expect((await app.signup("owner@example.com", "192.0.2.1")).status).toBe(201);
    const verify = vi.spyOn(await app.hashing(), "verifyPassword");
    for (let a = 0; a < 20; a++) {
      for (let i = 0; i < 5; i++) {
        expect((await app.login("owner@example.com", "wrong", `203.0.113.${a}`)).status).toBe(401);
      }
    }
    expect(verify).toHaveBeenCalledTimes(100);
    // 12:00:10 UTC: the day's window ends at midnight.
    const error = await expectLimited(
      await app.login("owner@example.com", "a strong password", "203.0.113.99"),
      12 * 3600 - 10,
    );
    expect(error.message).toMatch(/email/);
    expect(verify).toHaveBeenCalledTimes(100);
    advance(12 * 3600 - 10);
    expect((await app.login("owner@example.com", "a strong password", "203.0.113.99")).status).toBe(
      200,
    );
  });

  it("one address is capped at 20 attempts per 15 minutes over all emails", async () => {
    freezeTime();
    const app = await site();
    expect((await app.signup("owner@example.com", "192.0.2.1")).status).toBe(201);
    // One address guessing 20 accounts, once each, is stopped at the 21st.
    for (let i = 0; i < 20; i++) {
      expect((await app.login(`guess${i}@example.com`, "wrong", "198.51.100.66")).status).toBe(401);
    }
    const capped = await app.login("guess20@example.com", "wrong", "198.51.100.66");
    const error = await expectLimited(capped, 15 * 60 - 10);
    expect(error.message).toMatch(/address/);
    advance(60);
    // The owner, from elsewhere, is not held back by that address.
    expect((await app.login("owner@example.com", "a strong password", "192.0.2.1")).status).toBe(
      200,
    );
    advance(15 * 60 - 70); // the address's window ends
    expect((await app.login("guess20@example.com", "wrong", "198.51.100.66")).status).toBe(401);
  });

  it("correct sign-ins and 503s do not use up an address's cap: 30 of each from one (NAT) address, then its 20 failures are still there", async () => {
    // Fails when every attempt counts: 20 sign-ins of the people behind one office address shut
    // the address out for 15 minutes (attack finding 3).
    freezeTime();
    const app = await site();
    expect((await app.signup("worker@example.com", "192.0.2.1")).status).toBe(201);
    for (let i = 0; i < 30; i++) {
      expect(
        (await app.login("worker@example.com", "a strong password", "198.18.0.1")).status,
      ).toBe(200);
    }
    const verify = vi.spyOn(await app.hashing(), "verifyPassword");
    const { serverBusy } = await app.hashing();
    for (let i = 0; i < 30; i++) verify.mockRejectedValueOnce(serverBusy());
    for (let i = 0; i < 30; i++) {
      expect((await app.login(`busy${i}@example.com`, "wrong", "198.18.0.1")).status).toBe(503);
    }
    verify.mockRestore();
    for (let i = 0; i < 20; i++) {
      expect((await app.login(`nat${i}@example.com`, "wrong", "198.18.0.1")).status).toBe(401);
    }
    await expectLimited(await app.login("nat20@example.com", "wrong", "198.18.0.1"), 15 * 60 - 10);
  });

  it("one address may sign up 10 accounts per hour; the 11th is a 429 that writes nothing", async () => {
    freezeTime();
    const app = await site();
    for (let i = 0; i < 10; i++) {
      expect((await app.signup(`new${i}@example.com`, "198.51.100.10")).status).toBe(201);
    }
    const before = await app.rowCounts();
    await expectLimited(await app.signup("new10@example.com", "198.51.100.10"), 3600 - 10);
    const after = await app.rowCounts();
    expect({ ...after, rate_limit: before.rate_limit }).toEqual(before); // only the counter moved
    expect((await app.signup("new10@example.com", "198.51.100.11")).status).toBe(201);
  });

  it("over IPv6 an address is its /64: 20 attempts from 20 addresses of one /64 (any spelling) stop the 21st; the next /64 is apart", async () => {
    freezeTime();
    const app = await site();
    // Every address below is in 2001:db8:0:1::/64, written as a client could vary it.
    const spellings = (i: number) =>
      i % 2 ? `2001:db8:0:1::${i.toString(16)}` : `2001:DB8:0000:0001:0:0:0:${i.toString(16)}`;
    for (let i = 0; i < 20; i++) {
      expect((await app.login(`v6guess${i}@example.com`, "wrong", spellings(i + 1))).status).toBe(
        401,
      );
    }
    await expectLimited(
      await app.login("v6guess20@example.com", "wrong", "2001:db8:0:1:ffff:ffff:ffff:ffff"),
      15 * 60 - 10,
    );
    expect((await app.login("v6guess20@example.com", "wrong", "2001:db8:0:2::1")).status).toBe(401);
  });

  it("over IPv6 a /48 is capped at 80 attempts (4 × a /64's): 80 from 80 fresh /64s of one /48 stop the 81st; the next /48 is apart", async () => {
    // Fails with the /64 cap alone: a /48 holds 65,536 fresh /64 keys (attack finding 2).
    freezeTime();
    const app = await site();
    for (let i = 0; i < 80; i++) {
      const ip = `2001:db8:aaaa:${i.toString(16)}::1`;
      expect((await app.login(`v6many${i}@example.com`, "wrong", ip)).status).toBe(401);
    }
    const error = await expectLimited(
      await app.login("v6many80@example.com", "wrong", "2001:db8:aaaa:ffff::1"),
      15 * 60 - 10,
    );
    expect(error.message).toMatch(/address/);
    expect((await app.login("v6many80@example.com", "wrong", "2001:db8:aaab::1")).status).toBe(401);
  });

  it("over IPv6 a /48 may sign up 40 accounts per hour (4 × a /64's), however many /64s it uses", async () => {
    freezeTime();
    const app = await site();
    for (let i = 0; i < 40; i++) {
      const ip = `2001:db8:cccc:${i.toString(16)}::1`;
      expect((await app.signup(`v6new${i}@example.com`, ip)).status).toBe(201);
    }
    await expectLimited(await app.signup("v6new40@example.com", "2001:db8:cccc:ff::1"), 3600 - 10);
    expect((await app.signup("v6new40@example.com", "2001:db8:cccd::1")).status).toBe(201);
  });

  it("an attempt the server was too busy to check (503) is given back, not counted as a failure", async () =>
    rollback(async () => {
      freezeTime();
      const { email, password } = await signupUser();
      const verify = vi.spyOn(Hashing, "verifyPassword");
      for (let i = 0; i < 6; i++) verify.mockRejectedValueOnce(Hashing.serverBusy());
      for (let i = 0; i < 6; i++) {
        const busy = await login(email, "wrong password");
        expect(busy.status).toBe(503);
        expect(busy.headers.get("retry-after")).toBe("1");
      }
      verify.mockRestore();
      for (let i = 0; i < 5; i++) expect((await login(email, "wrong password")).status).toBe(401);
      await expectLimited(await login(email, password), 60);
    }));

  it("a user with an old scrypt hash signs in and from then on has an Argon2id hash", async () =>
    rollback(async () => {
      // With the real parameters, which the rehash must give (not the tests' cheap ones).
      vi.stubEnv("SLIPWAY_TEST_ARGON2", undefined);
      onTestFinished(() => {
        vi.unstubAllEnvs();
      });
      const { email, password } = await signupUser();
      // The format the app stored before Argon2id, with small parameters (they are stored).
      const salt = Buffer.from("0123456789abcdef");
      const key = scryptSync(password.normalize("NFKC"), salt, 64, { N: 1024, r: 8, p: 1 });
      const scrypt = `scrypt$1024$8$1$${salt.toString("base64url")}$${key.toString("base64url")}`;
      await useTransaction((tx) =>
        tx.execute(sql`update "user" set password_hash = ${scrypt} where email = ${email}`),
      );
      const storedHash = async () => {
        const [row] = await useTransaction((tx) =>
          queryRows<{ hash: string }>(
            tx,
            sql`select password_hash as hash from "user" where email = ${email}`,
          ),
        );
        return row?.hash;
      };
      expect((await login(email, "wrong password")).status).toBe(401);
      expect(await storedHash()).toBe(scrypt); // a failure changes nothing
      expect((await login(email, password)).status).toBe(200);
      expect(await storedHash()).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect((await login(email, password)).status).toBe(200);
    }));
});
