import { afterEach, describe, expect, it, onTestFinished, vi } from "vitest";
import { client, rowCounts, sessionCookie, signupUser, userState } from "../../test/app";
import { isolated } from "../../test/database";
import { errorOf, issuesOf, jsonRequest } from "../../test/http";
import { app } from "../api";
import * as Hashing from "./password";

/** Changing the password while signed in, black-box through the app. */

afterEach(() => vi.useRealTimers());

const change = (cookie: string | undefined, currentPassword: string, newPassword: string) =>
  client(cookie).api.auth.password.$post({ json: { currentPassword, newPassword } });
const me = (cookie: string) => client(cookie).api.auth.me.$get();
const login = (email: string, password: string) =>
  client().api.auth.login.$post({ json: { email, password } });

describe("auth: change password", () => {
  it("204; this session stays, every other is revoked; only the new password signs in", async () =>
    isolated(async () => {
      const account = await signupUser();
      const phone = sessionCookie(await login(account.email, account.password));
      const other = await signupUser();
      const response = await change(account.cookie, account.password, "a brand new password");
      expect(response.status).toBe(204);
      expect((await me(account.cookie)).status).toBe(200);
      expect((await me(phone)).status).toBe(401);
      expect((await me(other.cookie)).status).toBe(200);
      expect((await login(account.email, account.password)).status).toBe(401);
      expect((await login(account.email, "a brand new password")).status).toBe(200);
    }));

  it("a wrong current password is 401, changes nothing, and counts toward the sign-in limit", async () =>
    isolated(async () => {
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(new Date("2030-01-01T12:00:10Z"));
      const account = await signupUser();
      const before = await rowCounts();
      const stateBefore = await userState(account.user.id);
      // Four wrong here and one wrong sign-in: the 5 free attempts are spent.
      for (let i = 0; i < 4; i++) {
        const wrong = await change(account.cookie, "not the password", "a brand new password");
        expect(wrong.status).toBe(401);
      }
      expect((await login(account.email, "not the password")).status).toBe(401);
      // The next, even with the right password, waits (the delay counts every failure).
      const limited = await change(account.cookie, account.password, "a brand new password");
      expect(limited.status).toBe(429);
      expect((await errorOf(limited)).code).toBe("rate_limited");
      const signIn = await login(account.email, account.password);
      expect(signIn.status).toBe(429);
      const counts = await rowCounts();
      expect({ ...counts, login_throttle: 0 }).toEqual({ ...before, login_throttle: 0 });
      expect(counts.login_throttle).toBe((before.login_throttle ?? 0) + 1);
      // An UPDATE is no row: the hash itself is unchanged (the right password now gets a 429, so
      // a sign-in cannot show it).
      expect(await userState(account.user.id)).toEqual(stateBefore);
    }));

  it("a 503 while hashing the new password does not count the right current password as a failure", async () =>
    isolated(async () => {
      const account = await signupUser();
      const before = await rowCounts();
      const stateBefore = await userState(account.user.id);
      const hash = vi.spyOn(Hashing, "hashPassword").mockRejectedValue(Hashing.serverBusy());
      onTestFinished(() => hash.mockRestore());
      const busy = await change(account.cookie, account.password, "a brand new password");
      expect(busy.status).toBe(503);
      hash.mockRestore();
      // No sign-in throttle row left behind, the password unchanged.
      expect(await rowCounts()).toEqual(before);
      expect(await userState(account.user.id)).toEqual(stateBefore);
    }));

  it.each([
    ["a too short new password", { newPassword: "1234567" }, "newPassword"],
    ["no current password", { currentPassword: undefined }, "currentPassword"],
    ["an extra field", { userId: "usr_x" }, ""],
  ])("%s: 400 validation_failed, nothing changed", async (_, change_, field) =>
    isolated(async () => {
      const account = await signupUser();
      const before = await rowCounts();
      const response = await app.request(
        "/api/auth/password",
        jsonRequest(
          { currentPassword: account.password, newPassword: "a brand new password", ...change_ },
          { headers: { cookie: account.cookie } },
        ),
      );
      expect(response.status).toBe(400);
      expect(await issuesOf(response)).toContain(field);
      expect(await rowCounts()).toEqual(before);
    }),
  );

  it("signed out: 401; from a foreign origin: 403; neither changes anything", async () =>
    isolated(async () => {
      const account = await signupUser();
      const before = await rowCounts();
      expect((await change(undefined, account.password, "a brand new password")).status).toBe(401);
      const foreign = await app.request(
        "/api/auth/password",
        jsonRequest(
          { currentPassword: account.password, newPassword: "a brand new password" },
          { headers: { origin: "https://evil.example", cookie: account.cookie } },
        ),
      );
      expect(foreign.status).toBe(403);
      expect(await rowCounts()).toEqual(before);
      expect((await login(account.email, account.password)).status).toBe(200);
    }));
});
