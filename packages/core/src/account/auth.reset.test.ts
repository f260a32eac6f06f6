import { sql } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { client, rowCounts, sessionCookie, signupUser, userState } from "../../test/app";
import { isolated } from "../../test/database";
import { errorOf, issuesOf, jsonRequest } from "../../test/http";
import { lastToken, mailTo } from "../../test/mail";
import { app } from "../api";
import { queryRows } from "../db/client";
import { useTransaction } from "../db/transaction";

/** Password reset, black-box through the app: no enumeration, the link, the confirm. */

afterEach(() => vi.useRealTimers());

const auth = () => client().api.auth;
const ask = (email: string) => auth()["password-reset"].$post({ json: { email } });
const confirm = (token: string, password: string, cookie?: string) =>
  client(cookie).api.auth["password-reset"].confirm.$post({ json: { token, password } });
const me = (cookie: string) => client(cookie).api.auth.me.$get();
const resetToken = (email: string) => lastToken(email, "Reset your password", "/reset-password");

/** What the request left in the outbox: the tasks it queued, by name. */
const outbox = () =>
  useTransaction((tx) =>
    queryRows<{ task: string }>(tx, sql`select task from task_outbox order by id`),
  ).then((rows) => rows.map((row) => row.task));

describe("auth: password reset", () => {
  it("an address with an account and one without get the same 202, after the same work", async () =>
    isolated(async () => {
      const account = await signupUser();
      await mailTo(account.email);
      const before = await outbox();
      const known = await ask(account.email);
      const afterKnown = await outbox();
      const unknown = await ask("nobody@example.com");
      const afterUnknown = await outbox();
      expect(known.status).toBe(202);
      expect(unknown.status).toBe(202);
      expect(await known.text()).toBe(await unknown.text());
      expect([...known.headers.keys()].sort()).toEqual([...unknown.headers.keys()].sort());
      // The same shape of work: one task each, whose handler (the worker) looks the address up.
      expect(afterKnown.slice(before.length)).toEqual(["account.sendPasswordReset"]);
      expect(afterUnknown.slice(afterKnown.length)).toEqual(["account.sendPasswordReset"]);
      // The mail goes only to the account.
      expect((await mailTo(account.email)).map((m) => m.subject)).toContain("Reset your password");
      expect(await mailTo("nobody@example.com")).toEqual([]);
    }));

  it("confirm: 200 and a new session here; every other session is revoked; the new password signs in", async () =>
    isolated(async () => {
      const account = await signupUser();
      const laptop = sessionCookie(
        await auth().login.$post({ json: { email: account.email, password: account.password } }),
      );
      await ask(account.email);
      const token = await resetToken(account.email);
      const response = await confirm(token, "a brand new password");
      expect(response.status).toBe(200);
      expect((await response.json()).user).toMatchObject({ id: account.user.id });
      const here = sessionCookie(response);
      expect(response.headers.get("set-cookie")).toContain("HttpOnly");
      expect((await me(here)).status).toBe(200);
      for (const cookie of [account.cookie, laptop]) expect((await me(cookie)).status).toBe(401);
      const old = await auth().login.$post({
        json: { email: account.email, password: account.password },
      });
      expect(old.status).toBe(401);
      const fresh = await auth().login.$post({
        json: { email: account.email, password: "a brand new password" },
      });
      expect(fresh.status).toBe(200);
      // The link proved the mailbox: the address is verified too.
      expect((await fresh.json()).user.emailVerified).toBe(true);
      // Single use.
      const again = await confirm(token, "another new password");
      expect(again.status).toBe(400);
      expect((await errorOf(again)).code).toBe("invalid_token");
    }));

  it("a link older than 1 hour, or an unknown token, is 400 invalid_token and changes nothing", async () =>
    isolated(async () => {
      const account = await signupUser();
      await ask(account.email);
      const token = await resetToken(account.email);
      const before = await rowCounts();
      const stateBefore = await userState(account.user.id);
      for (const bad of ["x".repeat(43), `${token}x`]) {
        const response = await confirm(bad, "a brand new password");
        expect(response.status).toBe(400);
        expect((await errorOf(response)).code).toBe("invalid_token");
      }
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(Date.now() + 3600_000 + 1000);
      const late = await confirm(token, "a brand new password");
      expect(late.status).toBe(400);
      expect((await errorOf(late)).code).toBe("invalid_token");
      vi.useRealTimers();
      expect(await rowCounts()).toEqual(before);
      expect(await userState(account.user.id)).toEqual(stateBefore);
      expect((await me(account.cookie)).status).toBe(200);
    }));

  it.each([
    ["too short a password", { password: "1234567" }, "password"],
    ["too long a password", { password: "x".repeat(257) }, "password"],
    ["no password", { password: undefined }, "password"],
    ["no token", { token: undefined }, "token"],
  ])("confirm with %s: 400 validation_failed, the token still works", async (_, change, field) =>
    isolated(async () => {
      const account = await signupUser();
      await ask(account.email);
      const token = await resetToken(account.email);
      const before = await rowCounts();
      const response = await app.request(
        "/api/auth/password-reset/confirm",
        jsonRequest({ token, password: "a brand new password", ...change }),
      );
      expect(response.status).toBe(400);
      expect(await issuesOf(response)).toContain(field);
      expect(await rowCounts()).toEqual(before);
      expect((await confirm(token, "a brand new password")).status).toBe(200);
    }),
  );

  it("a request with a bad email is 400 validation_failed and queues nothing", async () =>
    isolated(async () => {
      const before = await rowCounts();
      for (const body of [
        {},
        { email: "not-an-email" },
        { email: 42 },
        { email: "a@b.co", x: 1 },
      ]) {
        const response = await app.request("/api/auth/password-reset", jsonRequest(body));
        expect(response.status).toBe(400);
        expect((await errorOf(response)).code).toBe("validation_failed");
      }
      expect(await rowCounts()).toEqual(before);
    }));

  it("is rate-limited per email (the 4th in an hour, account or not) and per address (the 11th)", async () =>
    isolated(async () => {
      // Mid-window on a frozen clock: on the real one a run crossing the top of the hour starts a
      // new window and the limit never trips (a rare CI flake).
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(new Date("2030-01-01T12:30:00Z"));
      for (const email of ["someone@example.com", "nobody@example.com"]) {
        for (let i = 0; i < 3; i++) expect((await ask(email)).status).toBe(202);
        const limited = await ask(email);
        expect(limited.status).toBe(429);
        expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
      }
      // 8 requests counted against this address so far (2 of them refused by the email limit
      // after the address's hit): the 9th and 10th pass, the 11th does not.
      expect((await ask("third@example.com")).status).toBe(202);
      expect((await ask("fourth@example.com")).status).toBe(202);
      const limited = await ask("fifth@example.com");
      expect(limited.status).toBe(429);
      expect((await errorOf(limited)).code).toBe("rate_limited");
    }));

  it("CSRF: both routes from a foreign origin or with no Origin are 403 and change nothing", async () =>
    isolated(async () => {
      const account = await signupUser();
      await mailTo(account.email);
      const before = await rowCounts();
      for (const [path, body] of [
        ["/api/auth/password-reset", { email: account.email }],
        ["/api/auth/password-reset/confirm", { token: "x".repeat(43), password: "a new password" }],
      ] as const) {
        const foreign = await app.request(
          path,
          jsonRequest(body, { headers: { origin: "https://evil.example" } }),
        );
        expect(foreign.status).toBe(403);
        const bare = await app.request(path, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        expect(bare.status).toBe(403);
      }
      expect(await rowCounts()).toEqual(before);
    }));
});
