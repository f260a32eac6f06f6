import { sql } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { as, client, rowCounts, signupUser, userState } from "../../test/app";
import { isolated } from "../../test/database";
import { errorOf, issuesOf, jsonRequest } from "../../test/http";
import { lastToken, mailTo } from "../../test/mail";
import { liveTables, rowsHolding } from "../../test/tables";
import { delivery } from "../../test/tasks";
import { app } from "../api";
import { queryRows } from "../db/client";
import { useTransaction } from "../db/transaction";
import { createID } from "../id";
import { createWorker } from "../task/worker";
import { tasks } from "../tasks";

/** Email verification, black-box through the app: the mail, the token, resend, /me. */

afterEach(() => vi.useRealTimers());

const verify = (token: string) => client().api.auth["verify-email"].$post({ json: { token } });
const me = async (cookie: string) => (await (await client(cookie).api.auth.me.$get()).json()).user;
const verification = (email: string) =>
  lastToken(email, "Confirm your email address", "/verify-email");

/** The live tables with a row whose text holds `needle`. */
async function tablesHolding(needle: string): Promise<string[]> {
  expect(await liveTables()).toContain("task_outbox");
  return [...new Set((await rowsHolding(needle)).map((hit) => hit.table))];
}

async function expectInvalidToken(response: Response) {
  expect(response.status).toBe(400);
  expect((await errorOf(response)).code).toBe("invalid_token");
}

describe("auth: email verification", () => {
  it("signup mails a link to the site (text and HTML); the token verifies once, and /me shows it", async () =>
    isolated(async () => {
      const account = await signupUser({ name: "Ada <b>&" });
      expect(await me(account.cookie)).toMatchObject({ emailVerified: false });
      const [mail] = await mailTo(account.email);
      expect(mail?.subject).toBe("Confirm your email address");
      // The address is not proved yet: the name (free text the signup chose) is not in the mail.
      expect(mail?.text).toMatch(/^Hello,/);
      expect(mail?.text).not.toContain("Ada");
      expect(mail?.html).not.toContain("Ada");
      const token = await verification(account.email);
      const response = await verify(token);
      expect(response.status).toBe(200);
      expect((await response.json()).user).toMatchObject({
        id: account.user.id,
        emailVerified: true,
      });
      // At once, the session cache notwithstanding.
      expect(await me(account.cookie)).toMatchObject({ emailVerified: true });
      // Verified, the address's mail may greet by name: escaped in the HTML, as written in the text.
      await client().api.auth["password-reset"].$post({ json: { email: account.email } });
      const reset = (await mailTo(account.email)).find((m) => m.subject === "Reset your password");
      expect(reset?.html).toContain("Hello Ada &lt;b&gt;&amp;,");
      expect(reset?.text).toContain("Hello Ada <b>&,");
      // Single use: the second time it is unknown, and nothing changes.
      const before = await rowCounts();
      await expectInvalidToken(await verify(token));
      expect(await rowCounts()).toEqual(before);
    }));

  it("only the token's hash is stored: no table but the dev mailbox (the mail itself) holds a raw token", async () =>
    isolated(async () => {
      const account = await signupUser();
      const verifyToken = await verification(account.email);
      await client().api.auth["password-reset"].$post({ json: { email: account.email } });
      const resetToken = await lastToken(account.email, "Reset your password", "/reset-password");
      const newEmail = `new.${Date.now()}@example.com`;
      await client(account.cookie).api.auth.email.$post({
        json: { password: account.password, newEmail },
      });
      const changeToken = await lastToken(
        newEmail,
        "Confirm your new email address",
        "/confirm-email",
      );
      const rows = await useTransaction((tx) =>
        queryRows<{ token_hash: string }>(tx, sql`select token_hash from account_token`),
      );
      expect(rows).toHaveLength(3);
      for (const row of rows) expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
      // Every table of the live schema (not only the app's *.sql.ts), every column as text: the
      // outbox, the offline queue, task steps and receipts hold no token. Offline the dev mailbox
      // is the mailbox, so the mail's text is there; deployed, SES has it and the database none.
      for (const token of [verifyToken, resetToken, changeToken]) {
        expect(await tablesHolding(token)).toEqual(["dev_mail"]);
      }
    }));

  it("a verification task delivered twice mails once; the link it mailed stays the live one", async () =>
    isolated(async () => {
      const account = await signupUser();
      await verification(account.email);
      const worker = createWorker(tasks);
      const envelope = {
        task: "account.sendVerification",
        payload: { userId: account.user.id },
        id: createID("task"),
      };
      expect((await worker(delivery(envelope, { messageId: "m-1" }))).batchItemFailures).toEqual(
        [],
      );
      const token = await verification(account.email);
      expect((await worker(delivery(envelope, { messageId: "m-2" }))).batchItemFailures).toEqual(
        [],
      );
      // The second delivery found the task done: no new token, no mail, the first link still works.
      expect(await mailTo(account.email)).toHaveLength(2);
      expect(await verification(account.email)).toBe(token);
      expect((await verify(token)).status).toBe(200);
    }));

  it("maintenance.cleanup deletes tokens once expired, not before", async () =>
    isolated(async () => {
      const account = await signupUser();
      await verification(account.email);
      const { cleanup } = await import("../maintenance/maintenance");
      expect(await cleanup(new Date(Date.now() + 23 * 3600_000))).toMatchObject({
        accountTokens: 0,
      });
      expect(await cleanup(new Date(Date.now() + 25 * 3600_000))).toMatchObject({
        accountTokens: 1,
      });
    }));

  it("an expired (24 h), unknown or other-purpose token is 400 invalid_token and changes nothing", async () =>
    isolated(async () => {
      const account = await signupUser();
      const token = await verification(account.email);
      const before = await rowCounts();
      const stateBefore = await userState(account.user.id);
      await expectInvalidToken(await verify("x".repeat(43)));
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(Date.now() + 24 * 3600_000 + 1000);
      await expectInvalidToken(await verify(token));
      vi.useRealTimers();
      // A verification token is not a reset token.
      const reset = await client().api.auth["password-reset"].confirm.$post({
        json: { token, password: "a new password" },
      });
      await expectInvalidToken(reset);
      expect(await rowCounts()).toEqual(before);
      expect(await userState(account.user.id)).toEqual(stateBefore);
      expect(await me(account.cookie)).toMatchObject({ emailVerified: false });
    }));

  it("a token for an address the account no longer has verifies nothing", async () =>
    isolated(async () => {
      const account = await signupUser();
      const token = await verification(account.email);
      await useTransaction((tx) =>
        tx.execute(
          sql`update "user" set email = 'moved@example.com' where id = ${account.user.id}`,
        ),
      );
      await expectInvalidToken(await verify(token));
    }));

  it.each([
    ["missing", {}, ["token"]],
    ["a number", { token: 42 }, ["token"]],
    ["empty", { token: "" }, ["token"]],
    ["too long", { token: "x".repeat(201) }, ["token"]],
    ["with an extra field", { token: "abc", userId: "usr_1" }, [""]],
  ])("a token %s: 400 validation_failed naming it, nothing changed", async (_, body, paths) =>
    isolated(async () => {
      const before = await rowCounts();
      const response = await app.request("/api/auth/verify-email", jsonRequest(body));
      expect(response.status).toBe(400);
      expect((await errorOf(response.clone())).code).toBe("validation_failed");
      expect(await issuesOf(response.clone())).toEqual(paths);
      // The root-level issue (an unknown key) names the key in its message.
      expect(JSON.stringify((await errorOf(response)).details)).toContain(
        paths[0] === "" ? "userId" : "token",
      );
      expect(await rowCounts()).toEqual(before);
    }),
  );

  it("resend: 202 and a new link; the old one stops working", async () =>
    isolated(async () => {
      const account = await signupUser();
      const first = await verification(account.email);
      const response = await client(account.cookie).api.auth["verify-email"].resend.$post();
      expect(response.status).toBe(202);
      const mails = await mailTo(account.email);
      expect(mails).toHaveLength(2);
      const second = await verification(account.email);
      expect(second).not.toBe(first);
      await expectInvalidToken(await verify(first));
      expect((await verify(second)).status).toBe(200);
      // Verified: a resend is accepted and sends nothing.
      expect((await client(account.cookie).api.auth["verify-email"].resend.$post()).status).toBe(
        202,
      );
      expect(await mailTo(account.email)).toHaveLength(2);
    }));

  it("resend is rate-limited: the 6th in an hour is 429 with Retry-After", async () =>
    isolated(async () => {
      // Mid-window on a frozen clock: on the real one a run crossing the top of the hour starts a
      // new window and the limit never trips (a rare CI flake).
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(new Date("2030-01-01T12:30:00Z"));
      const { cookie } = await signupUser();
      const resend = () => client(cookie).api.auth["verify-email"].resend.$post();
      for (let i = 0; i < 5; i++) expect((await resend()).status).toBe(202);
      const limited = await resend();
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    }));

  it("resend signed out is 401; from a foreign origin 403; neither sends anything", async () =>
    isolated(async () => {
      const { cookie, email } = await signupUser();
      await mailTo(email);
      const before = await rowCounts();
      expect((await client().api.auth["verify-email"].resend.$post()).status).toBe(401);
      for (const path of ["/api/auth/verify-email/resend", "/api/auth/verify-email"]) {
        const foreign = await app.request(
          path,
          jsonRequest({ token: "x" }, { headers: { origin: "https://evil.example", cookie } }),
        );
        expect(foreign.status).toBe(403);
      }
      expect(await rowCounts()).toEqual(before);
      expect((await as(cookie).get("/api/auth/me")).status).toBe(200);
    }));
});
