import { describe, expect, it } from "vitest";
import { as, client, rowCounts, signupUser } from "../../test/app";
import { isolated } from "../../test/database";
import { errorOf, issuesOf, jsonRequest } from "../../test/http";
import { lastToken, mailTo } from "../../test/mail";
import { rowsHolding } from "../../test/tables";
import { drain } from "../../test/tasks";
import { A_PNG, uploadAndProcess } from "../../test/uploads";
import { app } from "../api";
import { keys } from "../attachment/attachment.keys";
import { sendDaily } from "../digest/digest";
import { storage } from "../storage/storage";
import { tasks } from "../tasks";

/** Deleting the account, black-box through the app. */

const remove = (cookie: string | undefined, password: string) =>
  app.request(
    "/api/auth/me",
    jsonRequest({ password }, { method: "DELETE", headers: cookie ? { cookie } : {} }),
  );

/** Every row of every live table whose text holds any of `needles`, as `table: row`. */
const rowsNaming = async (...needles: string[]) =>
  (await rowsHolding(...needles)).map(({ table, row }) => `${table}: ${row}`);

describe("auth: delete the account", () => {
  it("removes the user and every row that names them, their files by tasks; the email can sign up again", async () =>
    isolated(async () => {
      const account = await signupUser({ name: "Doomed" });
      const other = await signupUser({ name: "Stays" });
      const { id } = account.user;
      // A life: verified, notes with an attachment, a digest, a reset asked for, a wrong
      // password (a throttle row), a second session, mail in the mailbox.
      const verify = await lastToken(account.email, "Confirm your email", "/verify-email");
      expect(
        (await client().api.auth["verify-email"].$post({ json: { token: verify } })).status,
      ).toBe(200);
      const { attachment } = await uploadAndProcess(account.cookie, A_PNG);
      await as(other.cookie).send("POST", "/api/notes", { title: "Not theirs" });
      await sendDaily();
      await client().api.auth["password-reset"].$post({ json: { email: account.email } });
      await client().api.auth.login.$post({
        json: { email: account.email, password: "wrong password" },
      });
      await client().api.auth.login.$post({
        json: { email: account.email, password: account.password },
      });
      await drain(tasks);
      expect((await mailTo(account.email)).length).toBeGreaterThanOrEqual(3);
      expect(await rowsNaming(id, account.email)).not.toEqual([]);
      const otherBefore = await rowsNaming(other.user.id, other.email);
      // The file is there before, so "gone after" proves the deletion did it.
      expect(await (await storage()).head(keys(attachment.id).file)).toBeDefined();

      const response = await remove(account.cookie, account.password);
      expect(response.status).toBe(204);
      expect(response.headers.get("set-cookie")).toMatch(/slipway_session=;.*Max-Age=0/);
      expect((await client(account.cookie).api.auth.me.$get()).status).toBe(401);
      // The file goes by a task.
      await drain(tasks);
      expect(await (await storage()).head(keys(attachment.id).file)).toBeUndefined();
      expect(await rowsNaming(id, account.email)).toEqual([]);
      // No one else's rows were touched.
      expect(await rowsNaming(other.user.id, other.email)).toEqual(otherBefore);
      // The address is free again.
      const again = await client().api.auth.signup.$post({
        json: { email: account.email, password: "a strong password", name: "Back" },
      });
      expect(again.status).toBe(201);
    }));

  it("after an email change, what names the address it had before goes too: its mail, its throttle, its counters", async () =>
    isolated(async () => {
      const account = await signupUser({ name: "Mover" });
      const old = account.email;
      // A failed sign-in on the old address: a throttle row and a counter that name it.
      await client().api.auth.login.$post({ json: { email: old, password: "wrong password" } });
      const moved = `moved.${Date.now()}@example.com`;
      const change = await as(account.cookie).send("POST", "/api/auth/email", {
        password: account.password,
        newEmail: moved,
      });
      expect(change.status).toBe(202);
      const token = await lastToken(moved, "Confirm your new email address", "/confirm-email");
      expect((await client().api.auth.email.confirm.$post({ json: { token } })).status).toBe(200);
      await drain(tasks);
      // The notices went to the old address; the throttle and counter are still there.
      expect((await mailTo(old)).length).toBeGreaterThanOrEqual(2);
      expect(await rowsNaming(old)).not.toEqual([]);

      expect((await remove(account.cookie, account.password)).status).toBe(204);
      await drain(tasks);
      expect(await rowsNaming(account.user.id, old, moved)).toEqual([]);
    }));

  it("a wrong password is 401, deletes nothing, and counts as a failed sign-in", async () =>
    isolated(async () => {
      const account = await signupUser();
      await drain(tasks);
      const before = await rowCounts();
      const response = await remove(account.cookie, "not the password");
      expect(response.status).toBe(401);
      expect((await errorOf(response)).code).toBe("unauthorized");
      expect(await rowCounts()).toEqual({
        ...before,
        login_throttle: (before.login_throttle ?? 0) + 1,
      });
      expect((await client(account.cookie).api.auth.me.$get()).status).toBe(200);
    }));

  it.each([
    ["no password", {}, "password"],
    ["an empty password", { password: "" }, "password"],
    ["a number", { password: 42 }, "password"],
  ])("%s: 400 validation_failed, nothing deleted", async (_, body, field) =>
    isolated(async () => {
      const account = await signupUser();
      const before = await rowCounts();
      const response = await app.request(
        "/api/auth/me",
        jsonRequest(body, { method: "DELETE", headers: { cookie: account.cookie } }),
      );
      expect(response.status).toBe(400);
      expect(await issuesOf(response)).toContain(field);
      expect(await rowCounts()).toEqual(before);
    }),
  );

  it("signed out: 401; from a foreign origin: 403; nothing deleted", async () =>
    isolated(async () => {
      const account = await signupUser();
      const before = await rowCounts();
      expect((await remove(undefined, account.password)).status).toBe(401);
      const foreign = await app.request(
        "/api/auth/me",
        jsonRequest(
          { password: account.password },
          { method: "DELETE", headers: { origin: "https://evil.example", cookie: account.cookie } },
        ),
      );
      expect(foreign.status).toBe(403);
      expect(await rowCounts()).toEqual(before);
    }));
});
