import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { client, rowCounts, signupUser } from "../../test/app";
import { bootApp, freshDatabase, isolated } from "../../test/database";
import { jsonRequest } from "../../test/http";
import { app } from "../api";
import { rollback, useTransaction } from "../db/transaction";

const login = (email: string, password: string) =>
  client().api.auth.login.$post({ json: { email, password } });

describe("auth: security", () => {
  it("rate limit: after 5 failures for an email from one IP, 429 with Retry-After, even for the right password", async () =>
    rollback(async () => {
      const { email, password } = await signupUser();
      for (let i = 0; i < 5; i++) expect((await login(email, "wrong password")).status).toBe(401);
      const limited = await login(email, password);
      expect(limited.status).toBe(429);
      expect(limited.headers.get("retry-after")).toBe("900");
      expect(await limited.json()).toMatchObject({ error: { code: "rate_limited" } });
    }));

  it("rate limit resets: a success clears the count, and failures age out after 15 minutes", async () =>
    rollback(async () => {
      const { email, password } = await signupUser();
      for (let i = 0; i < 4; i++) await login(email, "wrong password");
      expect((await login(email, password)).status).toBe(200); // clears
      for (let i = 0; i < 4; i++) expect((await login(email, "wrong password")).status).toBe(401);
      expect((await login(email, "wrong password")).status).toBe(401); // 5th failure: still counted
      expect((await login(email, password)).status).toBe(429);
      await useTransaction((tx) =>
        tx.execute(sql`update login_failure set failed_at = now() - interval '16 minutes'`),
      );
      expect((await login(email, password)).status).toBe(200);
    }));

  it("rate limit is per email and IP: failures from another address do not lock this one", async () =>
    rollback(async () => {
      const { email, password } = await signupUser();
      await useTransaction((tx) =>
        tx.execute(
          sql`insert into login_failure (email, ip) select ${email}, '203.0.113.9' from generate_series(1, 10)`,
        ),
      );
      expect((await login(email, password)).status).toBe(200);
    }));

  it("behind 2 proxies the client IP is the 2nd X-Forwarded-For entry from the right: a forged prefix changes nothing", async () => {
    const fresh = await freshDatabase();
    const booted = await bootApp({ ...fresh.env, TRUSTED_PROXIES: "2" }, fresh.handle);
    await booted.migrator.migrate(fresh.handle.db, booted.config.migrationsDir);
    const { auth } = client(undefined, booted.app).api;
    const from = (forwardedFor: string) => ({ headers: { "x-forwarded-for": forwardedFor } });
    const account = { email: "proxied@example.com", password: "a strong password" };
    expect(
      (await auth.signup.$post({ json: { ...account, name: "P" } }, from("198.51.100.7, 10.0.0.1")))
        .status,
    ).toBe(201);
    // Five failures from 198.51.100.7, each with a different forged entry in front.
    for (let i = 0; i < 5; i++) {
      const response = await auth.login.$post(
        { json: { ...account, password: "wrong password" } },
        from(`1.2.3.${i}, 198.51.100.7, 10.0.0.1`),
      );
      expect(response.status).toBe(401);
    }
    const rightPassword = (forwardedFor: string) =>
      auth.login.$post({ json: account }, from(forwardedFor));
    expect((await rightPassword("9.9.9.9, 198.51.100.7, 10.0.0.1")).status).toBe(429);
    expect((await rightPassword("198.51.100.8, 10.0.0.1")).status).toBe(200); // another client
  });

  it("an expired session is refused and its cookie cleared", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      await useTransaction((tx) =>
        tx.execute(sql`update session set expires_at = now() - interval '1 second'`),
      );
      const me = await client(cookie).api.auth.me.$get();
      expect(me.status).toBe(401);
      expect(me.headers.get("set-cookie")).toMatch(/slipway_session=;.*Max-Age=0/);
    }));

  it("a forged or random session token is refused", async () => {
    expect((await client("slipway_session=forged-token").api.auth.me.$get()).status).toBe(401);
  });

  // app.request: the point is the headers the typed client always sends right.
  it.each(["/api/auth/signup", "/api/auth/login", "/api/auth/logout"])(
    "CSRF: %s from a foreign origin or with no Origin is 403 and writes nothing",
    async (path) =>
      isolated(async () => {
        const { cookie } = await signupUser();
        const before = await rowCounts();
        const body = { email: "x@example.com", password: "a strong password", name: "X" };
        const foreign = await app.request(
          path,
          jsonRequest(body, { headers: { origin: "https://evil.example", cookie } }),
        );
        expect(foreign.status).toBe(403);
        const bare = await app.request(path, {
          method: "POST",
          headers: { "content-type": "application/json", cookie },
          body: JSON.stringify(body),
        });
        expect(bare.status).toBe(403);
        expect(await rowCounts()).toEqual(before);
      }),
  );

  it("cookies carry Secure outside plain-http local runs (COOKIE_SECURE, on by default when deployed)", async () => {
    const fresh = await freshDatabase();
    const booted = await bootApp({ ...fresh.env, COOKIE_SECURE: "true" }, fresh.handle);
    await booted.migrator.migrate(fresh.handle.db, booted.config.migrationsDir);
    const response = await client(undefined, booted.app).api.auth.signup.$post({
      json: { email: "secure@example.com", password: "a strong password", name: "S" },
    });
    expect(response.status).toBe(201);
    expect(response.headers.get("set-cookie")).toContain("Secure");
  });
});
