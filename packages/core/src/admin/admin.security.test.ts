import { describe, expect, it } from "vitest";
import { as, client, rowCounts, signupUser } from "../../test/app";
import { errorOf } from "../../test/http";
import * as Account from "../account/account";
import { rollback } from "../db/transaction";

/** Every admin operation, as an untyped request (method, path, body). */
const user = "usr_01ARZ3NDEKTSV4RRFFQ69G5FAV";
const OPERATIONS: [string, string, unknown?][] = [
  ["GET", "/api/admin/tables"],
  ["GET", "/api/admin/tables/note/rows"],
  ["PATCH", "/api/admin/tables/note/rows", { key: { id: "x" }, set: { title: "x" } }],
  ["GET", "/api/admin/users"],
  ["GET", `/api/admin/users/${user}`],
  ["POST", `/api/admin/users/${user}/revoke-sessions`],
  ["POST", `/api/admin/users/${user}/disable`],
  ["POST", `/api/admin/users/${user}/enable`],
  ["GET", "/api/admin/audit"],
  // Not a route: the check still comes first, so a member learns nothing of what exists.
  ["GET", "/api/admin/no-such-thing"],
  ["GET", "/api/admin"],
];

/** The request as the site sends it, signed in with `cookie` (none: signed out). */
export function request(cookie: string, method: string, path: string, body?: unknown) {
  return method === "GET" ? as(cookie).get(path) : as(cookie).send(method, path, body);
}

/** A signed-up user made admin (as the CLI does, without the audit: no actor here). */
export async function signupAdmin() {
  const signed = await signupUser();
  await Account.setRole(signed.user.id, "admin");
  return signed;
}

describe("admin: security", () => {
  it("signed out: every admin path is a 401 in the error envelope, nothing written", async () =>
    rollback(async () => {
      const before = await rowCounts();
      for (const [method, path, body] of OPERATIONS) {
        const response = await request("", method, path, body);
        expect(response.status, `${method} ${path}`).toBe(401);
        expect((await errorOf(response)).code).toBe("unauthorized");
      }
      expect(await rowCounts()).toEqual(before);
    }));

  it("a member: every admin path is a 403 forbidden, nothing written", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const before = await rowCounts();
      for (const [method, path, body] of OPERATIONS) {
        const response = await request(cookie, method, path, body);
        expect(response.status, `${method} ${path}`).toBe(403);
        expect((await errorOf(response)).code).toBe("forbidden");
      }
      expect(await rowCounts()).toEqual(before);
    }));

  it("an admin whose role is revoked is a 403 on the next request; a disabled admin is a 401", async () =>
    rollback(async () => {
      const { cookie, user } = await signupAdmin();
      expect((await as(cookie).get("/api/admin/tables")).status).toBe(200);
      await Account.setRole(user.id, "member");
      expect((await as(cookie).get("/api/admin/tables")).status).toBe(403);
      await Account.setRole(user.id, "admin");
      await Account.disable(user.id);
      expect((await as(cookie).get("/api/admin/tables")).status).toBe(401);
    }));

  it("GET /api/auth/me says the role", async () =>
    rollback(async () => {
      const member = await signupUser();
      const me = await client(member.cookie).api.auth.me.$get();
      expect((await me.json()).user.role).toBe("member");
      const admin = await signupAdmin();
      const mine = await client(admin.cookie).api.auth.me.$get();
      expect((await mine.json()).user.role).toBe("admin");
    }));
});
