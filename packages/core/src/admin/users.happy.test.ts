import { describe, expect, it } from "vitest";
import { signupAdmin } from "../../test/admin";
import { client, sessionCookie, signupUser } from "../../test/app";
import { errorOf } from "../../test/http";
import { rollback } from "../db/transaction";

const admin = (cookie: string) => client(cookie).api.admin;
const me = (cookie: string) => client(cookie).api.auth.me.$get();
const login = (email: string, password: string) =>
  client().api.auth.login.$post({ json: { email, password } });

describe("admin users: happy paths", () => {
  it("finds users by email prefix, a page at a time, with verified, role, disabled and live sessions", async () =>
    rollback(async () => {
      const { cookie } = await signupAdmin();
      const tag = `find${Date.now()}`;
      const ann = await signupUser({ email: `${tag}.ann@example.com` });
      await login(ann.email, ann.password); // a second session
      const bob = await signupUser({ email: `${tag}.bob@example.com` });
      await signupUser({ email: `other.${tag}@example.com` });
      const first = await admin(cookie).users.$get({
        query: { email: tag.toUpperCase(), limit: "1" },
      });
      expect(first.status).toBe(200);
      const page = await first.json();
      expect(page.users).toEqual([
        {
          id: ann.user.id,
          email: ann.email,
          name: ann.name,
          emailVerified: false,
          role: "member",
          createdAt: ann.user.createdAt,
          disabledAt: null,
          sessions: 2,
        },
      ]);
      expect(page.nextCursor).toBe(ann.email);
      const second = await (
        await admin(cookie).users.$get({ query: { email: tag, cursor: page.nextCursor ?? "" } })
      ).json();
      expect(second.users.map((u) => u.id)).toEqual([bob.user.id]);
      expect(second.nextCursor).toBeNull();
      const one = await admin(cookie).users[":id"].$get({ param: { id: bob.user.id } });
      expect((await one.json()).user).toMatchObject({ email: bob.email, sessions: 1 });
    }));

  it("revoke-sessions: every session of the user ends (their next request is 401), audited", async () =>
    rollback(async () => {
      const operator = await signupAdmin();
      const user = await signupUser();
      const phone = sessionCookie(await login(user.email, user.password));
      for (const cookie of [user.cookie, phone]) expect((await me(cookie)).status).toBe(200);
      const response = await admin(operator.cookie).users[":id"]["revoke-sessions"].$post({
        param: { id: user.user.id },
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ revoked: 2 });
      for (const cookie of [user.cookie, phone]) expect((await me(cookie)).status).toBe(401);
      // They can sign in again: revoking is not disabling.
      expect((await login(user.email, user.password)).status).toBe(200);
      const { entries } = await (await admin(operator.cookie).audit.$get({ query: {} })).json();
      expect(entries[0]).toMatchObject({
        action: "user.revoke-sessions",
        target: user.user.id,
        actor: operator.email,
        actorUserId: operator.user.id,
        requestId: response.headers.get("x-request-id"),
        details: { revoked: 2 },
      });
      expect(Date.parse(entries[0]?.at ?? "")).toBeGreaterThan(Date.now() - 60_000);
    }));

  it("disable: sessions end, sign-in fails exactly as a wrong password does; enable lets them in again", async () =>
    rollback(async () => {
      const operator = await signupAdmin();
      const user = await signupUser();
      const other = await signupUser();
      const disabled = await admin(operator.cookie).users[":id"].disable.$post({
        param: { id: user.user.id },
      });
      expect(await disabled.json()).toEqual({ changed: true, sessionsRevoked: 1 });
      expect((await me(user.cookie)).status).toBe(401);
      expect((await me(other.cookie)).status).toBe(200);
      const right = await login(user.email, user.password);
      const wrong = await login(other.email, "not the password");
      expect(right.status).toBe(401);
      expect(await errorOf(right)).toEqual(await errorOf(wrong));
      expect(right.headers.get("set-cookie")).toBeNull();
      const again = await admin(operator.cookie).users[":id"].disable.$post({
        param: { id: user.user.id },
      });
      expect(await again.json()).toEqual({ changed: false, sessionsRevoked: 0 });
      const view = await admin(operator.cookie).users[":id"].$get({ param: { id: user.user.id } });
      expect((await view.json()).user).toMatchObject({
        disabledAt: expect.any(String),
        sessions: 0,
      });

      const enabled = await admin(operator.cookie).users[":id"].enable.$post({
        param: { id: user.user.id },
      });
      expect(await enabled.json()).toEqual({ changed: true });
      expect((await me(user.cookie)).status).toBe(401); // the old sessions stay ended
      const back = await login(user.email, user.password);
      expect(back.status).toBe(200);
      expect((await me(sessionCookie(back))).status).toBe(200);
      const { entries } = await (await admin(operator.cookie).audit.$get({ query: {} })).json();
      expect(entries.map((e) => e.action).slice(0, 3)).toEqual([
        "user.enable",
        "user.disable",
        "user.disable",
      ]);
      expect(entries.slice(0, 3).every((e) => e.target === user.user.id)).toBe(true);
    }));
});
