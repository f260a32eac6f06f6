import { sql } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { client, signupUser } from "../../test/app";
import { errorOf } from "../../test/http";
import { lastToken } from "../../test/mail";
import { queryRows } from "../db/client";
import { rollback, useTransaction } from "../db/transaction";
import * as Account from "./account";

/**
 * A disabled account (ADR 028): no sign-in, no session, no new session from a link mailed
 * before, and no oracle for its password.
 */

afterEach(() => vi.useRealTimers());

const me = (cookie: string) => client(cookie).api.auth.me.$get();
const login = (email: string, password: string) =>
  client().api.auth.login.$post({ json: { email, password } });

describe("auth: disabled accounts", () => {
  it("disabled by another process (sessions left in place): refused within SESSION_CACHE_SECONDS", async () =>
    rollback(async () => {
      const start = new Date("2030-01-01T12:00:00Z").getTime();
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(start);
      const user = await signupUser();
      expect((await me(user.cookie)).status).toBe(200); // cached now
      await useTransaction((tx) =>
        tx.execute(sql`update "user" set disabled_at = now() where id = ${user.user.id}`),
      );
      vi.setSystemTime(start + 4_999);
      expect((await me(user.cookie)).status).toBe(200); // the documented bound
      vi.setSystemTime(start + 5_000);
      expect((await me(user.cookie)).status).toBe(401);
    }));

  it("the right password of a disabled account fails as a wrong one does and stays a counted failure", async () =>
    rollback(async () => {
      const user = await signupUser();
      await Account.disable(user.user.id);
      const right = await login(user.email, user.password);
      const wrong = await login(user.email, "wrong password");
      expect([right.status, wrong.status]).toEqual([401, 401]);
      expect(await errorOf(right)).toEqual(await errorOf(wrong));
      const [row] = await useTransaction((tx) =>
        queryRows<{ attempts: number }>(
          tx,
          sql`select attempts from login_throttle where email = ${user.email}`,
        ),
      );
      // A success would have deleted the row: both attempts count.
      expect(row?.attempts).toBe(2);
    }));

  it("a password-reset link mailed before the account was disabled opens no session", async () =>
    rollback(async () => {
      const user = await signupUser();
      expect(
        (await client().api.auth["password-reset"].$post({ json: { email: user.email } })).status,
      ).toBe(202);
      const token = await lastToken(user.email, "Reset your password", "/reset-password");
      // Only the column (Account.disable also drops the links): the confirm itself must refuse.
      await useTransaction((tx) =>
        tx.execute(sql`update "user" set disabled_at = now() where id = ${user.user.id}`),
      );
      const response = await client().api.auth["password-reset"].confirm.$post({
        json: { token, password: "another strong password" },
      });
      expect(response.status).toBe(400);
      expect((await errorOf(response)).code).toBe("invalid_token");
      expect(response.headers.get("set-cookie")).toBeNull();
    }));
});
