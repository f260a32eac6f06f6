import { sql } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { client, rowCounts, sessionCookie, signupUser, userState } from "../../test/app";
import { isolated } from "../../test/database";
import { errorOf, issuesOf, jsonRequest } from "../../test/http";
import { lastToken, mailTo } from "../../test/mail";
import { app } from "../api";
import { queryRows } from "../db/client";
import { useTransaction } from "../db/transaction";

/** Changing the address, black-box through the app: request, the two mails, confirm. */

afterEach(() => vi.useRealTimers());

const ask = (cookie: string | undefined, password: string, newEmail: string) =>
  client(cookie).api.auth.email.$post({ json: { password, newEmail } });
const confirm = (token: string) => client().api.auth.email.confirm.$post({ json: { token } });
const me = async (cookie: string) => (await (await client(cookie).api.auth.me.$get()).json()).user;
const changeToken = (to: string) =>
  lastToken(to, "Confirm your new email address", "/confirm-email");

type Account = Awaited<ReturnType<typeof signupUser>>;

/** The user's live links (account_token rows), of every purpose. */
const tokensOf = async (userID: string) =>
  (
    await useTransaction((tx) =>
      queryRows<{ n: number }>(
        tx,
        sql`select count(*)::int as n from account_token where user_id = ${userID}`,
      ),
    )
  )[0]?.n;

async function verifiedUser() {
  const account = await signupUser();
  const token = await lastToken(account.email, "Confirm your email", "/verify-email");
  expect((await client().api.auth["verify-email"].$post({ json: { token } })).status).toBe(200);
  return account;
}

describe("auth: change email", () => {
  it("202; a link to the new address, a notice to the old; only the confirm changes it (then verified)", async () =>
    isolated(async () => {
      const account = await verifiedUser();
      const newEmail = `new.${Date.now()}@example.com`;
      const response = await ask(account.cookie, account.password, ` ${newEmail.toUpperCase()} `);
      expect(response.status).toBe(202);
      expect(await me(account.cookie)).toMatchObject({ email: account.email });
      const notice = (await mailTo(account.email)).find((m) => m.subject.includes("being changed"));
      // Masked: the old mailbox learns of the change, not the whole new address.
      expect(notice?.text).toContain(`n***@example.com`);
      expect(notice?.text).not.toContain(newEmail);
      expect(notice?.text).not.toContain("token=");
      const token = await changeToken(newEmail);
      const confirmed = await confirm(token);
      expect(confirmed.status).toBe(200);
      expect((await confirmed.json()).user).toMatchObject({
        email: newEmail,
        emailVerified: true,
      });
      expect(await me(account.cookie)).toMatchObject({ email: newEmail, emailVerified: true });
      // And a second notice to the old address once it took effect.
      const changed = (await mailTo(account.email)).find((m) => m.subject.includes("was changed"));
      expect(changed?.text).toContain("n***@example.com");
      expect(changed?.text).not.toContain(newEmail);
      expect(await mailTo(newEmail)).toHaveLength(1);
      // Sign-in takes the new address, not the old.
      const old = await client().api.auth.login.$post({
        json: { email: account.email, password: account.password },
      });
      expect(old.status).toBe(401);
      const fresh = await client().api.auth.login.$post({
        json: { email: newEmail, password: account.password },
      });
      expect(fresh.status).toBe(200);
      // Single use.
      const again = await confirm(token);
      expect(again.status).toBe(400);
      expect((await errorOf(again)).code).toBe("invalid_token");
    }));

  // H1: someone with the password (credential stuffing) asks to move the account to their own
  // address; the owner then does what the notice says. The pending change must die with it.
  it.each([
    [
      "a password change",
      async (account: Account) =>
        client(account.cookie).api.auth.password.$post({
          json: { currentPassword: account.password, newPassword: "a brand new password" },
        }),
    ],
    [
      "a password reset",
      async (account: Account) => {
        await client().api.auth["password-reset"].$post({ json: { email: account.email } });
        const token = await lastToken(account.email, "Reset your password", "/reset-password");
        return client().api.auth["password-reset"].confirm.$post({
          json: { token, password: "a brand new password" },
        });
      },
    ],
    [
      "signing out everywhere",
      async (account: Account) => client(account.cookie).api.auth["logout-everywhere"].$post(),
    ],
    [
      "ending the other sessions",
      async (account: Account) => client(account.cookie).api.auth.sessions.$delete(),
    ],
  ])("a pending change (and every other link) dies with %s", async (_, action) =>
    isolated(async () => {
      const account = await verifiedUser();
      const intruder = sessionCookie(
        await client().api.auth.login.$post({
          json: { email: account.email, password: account.password },
        }),
      );
      const theirs = `intruder.${Date.now()}@example.com`;
      expect((await ask(intruder, account.password, theirs)).status).toBe(202);
      const token = await changeToken(theirs);
      const response = await action(account);
      expect(response.status).toBeLessThan(300);
      expect(await tokensOf(account.user.id)).toBe(0);
      const late = await confirm(token);
      expect(late.status).toBe(400);
      expect((await errorOf(late)).code).toBe("invalid_token");
      expect((await userState(account.user.id))?.email).toBe(account.email);
    }),
  );

  it("an unverified old address gets both notices too (every legacy account is unverified)", async () =>
    isolated(async () => {
      const account = await signupUser();
      const newEmail = `new.${Date.now()}@example.com`;
      expect((await ask(account.cookie, account.password, newEmail)).status).toBe(202);
      const toOld = await mailTo(account.email);
      expect(toOld.map((m) => m.subject)).toEqual([
        "Your email address is being changed",
        "Confirm your email address",
      ]);
      expect((await confirm(await changeToken(newEmail))).status).toBe(200);
      expect((await mailTo(account.email)).map((m) => m.subject)[0]).toBe(
        "Your email address was changed",
      );
    }));

  it("a taken address gets the same 202 as a free one (no enumeration) and no link; 409 at confirm if taken meanwhile (nothing changes)", async () =>
    isolated(async () => {
      const account = await signupUser();
      const other = await signupUser();
      await mailTo(other.email);
      const before = await rowCounts();
      const taken = await ask(account.cookie, account.password, other.email);
      const afterTaken = await rowCounts();
      const free = await ask(account.cookie, account.password, `free.${Date.now()}@example.com`);
      expect(taken.status).toBe(202);
      expect(free.status).toBe(202);
      expect(await taken.text()).toBe(await free.text());
      // The same work: one task each, the right password no failed sign-in.
      expect(afterTaken).toEqual({ ...before, task_outbox: (before.task_outbox ?? 0) + 1 });
      expect(await rowCounts()).toEqual({ ...before, task_outbox: (before.task_outbox ?? 0) + 2 });
      // The worker mails no link to the taken address, and its owner hears nothing.
      expect((await mailTo(other.email)).map((m) => m.subject)).toEqual([
        "Confirm your email address",
      ]);
      const newEmail = `new.${Date.now()}@example.com`;
      expect((await ask(account.cookie, account.password, newEmail)).status).toBe(202);
      const token = await changeToken(newEmail);
      await client().api.auth.signup.$post({
        json: { email: newEmail, password: "a strong password", name: "Quick" },
      });
      const beforeConfirm = await rowCounts();
      const stateBefore = await userState(account.user.id);
      const late = await confirm(token);
      expect(late.status).toBe(409);
      expect(await rowCounts()).toEqual(beforeConfirm);
      expect(await userState(account.user.id)).toEqual(stateBefore);
      expect(await me(account.cookie)).toMatchObject({ email: account.email });
    }));

  it("a wrong password is 401 (a failed sign-in) and sends nothing", async () =>
    isolated(async () => {
      const account = await signupUser();
      await mailTo(account.email);
      const before = await rowCounts();
      const stateBefore = await userState(account.user.id);
      const wrong = await ask(account.cookie, "not the password", "new@example.com");
      expect(wrong.status).toBe(401);
      expect(await rowCounts()).toEqual({
        ...before,
        login_throttle: (before.login_throttle ?? 0) + 1,
      });
      expect(await userState(account.user.id)).toEqual(stateBefore);
    }));

  it("an expired (24 h) or unknown token is 400 invalid_token", async () =>
    isolated(async () => {
      const account = await signupUser();
      const newEmail = `new.${Date.now()}@example.com`;
      await ask(account.cookie, account.password, newEmail);
      const token = await changeToken(newEmail);
      const before = await rowCounts();
      const stateBefore = await userState(account.user.id);
      expect((await errorOf(await confirm("y".repeat(43)))).code).toBe("invalid_token");
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(Date.now() + 24 * 3600_000 + 1000);
      expect((await errorOf(await confirm(token))).code).toBe("invalid_token");
      vi.useRealTimers();
      expect(await rowCounts()).toEqual(before);
      expect(await userState(account.user.id)).toEqual(stateBefore);
    }));

  it.each([
    ["a bad new address", { newEmail: "not-an-email" }, "newEmail"],
    ["no password", { password: undefined }, "password"],
    ["the same address", { newEmail: "SAME" }, "newEmail"],
  ])("%s: 400 validation_failed, nothing queued", async (_, change, field) =>
    isolated(async () => {
      const account = await signupUser();
      const before = await rowCounts();
      const body = { password: account.password, newEmail: "fresh@example.com", ...change };
      if (body.newEmail === "SAME") body.newEmail = account.email;
      const response = await app.request(
        "/api/auth/email",
        jsonRequest(body, { headers: { cookie: account.cookie } }),
      );
      expect(response.status).toBe(400);
      expect(await issuesOf(response)).toContain(field);
      expect(await rowCounts()).toEqual(before);
    }),
  );

  it("is rate-limited: the 6th request in an hour is 429", async () =>
    isolated(async () => {
      // Mid-window on a frozen clock: on the real one a run crossing the top of the hour starts a
      // new window and the limit never trips (a rare CI flake).
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(new Date("2030-01-01T12:30:00Z"));
      const account = await signupUser();
      for (let i = 0; i < 5; i++)
        expect((await ask(account.cookie, account.password, `n${i}@example.com`)).status).toBe(202);
      expect((await ask(account.cookie, account.password, "n6@example.com")).status).toBe(429);
    }));

  it("signed out: 401; from a foreign origin: 403 (both routes); nothing changes", async () =>
    isolated(async () => {
      const account = await signupUser();
      const before = await rowCounts();
      expect((await ask(undefined, account.password, "new@example.com")).status).toBe(401);
      for (const [path, body] of [
        ["/api/auth/email", { password: account.password, newEmail: "new@example.com" }],
        ["/api/auth/email/confirm", { token: "x".repeat(43) }],
      ] as const) {
        const foreign = await app.request(
          path,
          jsonRequest(body, {
            headers: { origin: "https://evil.example", cookie: account.cookie },
          }),
        );
        expect(foreign.status).toBe(403);
      }
      expect(await rowCounts()).toEqual(before);
      await useTransaction((tx) => tx.execute(sql`select 1`));
    }));
});
