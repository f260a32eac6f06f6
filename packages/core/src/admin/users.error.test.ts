import { describe, expect, it } from "vitest";
import { request, signupAdmin } from "../../test/admin";
import { rowCounts } from "../../test/app";
import { errorOf, issuesOf } from "../../test/http";
import { rollback } from "../db/transaction";

const unknown = "usr_01ARZ3NDEKTSV4RRFFQ69G5FAV";

describe("admin users: errors", () => {
  it("an unknown user is a 404 for every action, and nothing is written (no audit record either)", async () =>
    rollback(async () => {
      const { cookie } = await signupAdmin();
      const before = await rowCounts();
      for (const [method, path] of [
        ["GET", `/api/admin/users/${unknown}`],
        ["POST", `/api/admin/users/${unknown}/revoke-sessions`],
        ["POST", `/api/admin/users/${unknown}/disable`],
        ["POST", `/api/admin/users/${unknown}/enable`],
      ] as const) {
        const response = await request(cookie, method, path);
        expect(response.status, path).toBe(404);
        expect((await errorOf(response)).code).toBe("not_found");
      }
      expect(await rowCounts()).toEqual(before);
    }));

  it("a malformed id or query is a 400 naming the field", async () =>
    rollback(async () => {
      const { cookie } = await signupAdmin();
      const before = await rowCounts();
      for (const [method, path, field] of [
        ["GET", "/api/admin/users/not-an-id", "id"],
        ["POST", "/api/admin/users/not_01ARZ3NDEKTSV4RRFFQ69G5FAV/disable", "id"],
        ["GET", "/api/admin/users?limit=0", "limit"],
        ["GET", "/api/admin/users?limit=abc", "limit"],
        ["GET", "/api/admin/users?sort=email", ""],
        ["GET", "/api/admin/audit?cursor=usr_01ARZ3NDEKTSV4RRFFQ69G5FAV", "cursor"],
        ["GET", "/api/admin/audit?limit=1000", "limit"],
      ] as const) {
        const response = await request(cookie, method, path);
        expect(response.status, path).toBe(400);
        expect(await issuesOf(response), path).toContain(field);
      }
      expect(await rowCounts()).toEqual(before);
    }));

  it("the audit log has no route that changes it", async () =>
    rollback(async () => {
      const { cookie } = await signupAdmin();
      const before = await rowCounts();
      for (const method of ["POST", "PATCH", "PUT", "DELETE"]) {
        const response = await request(cookie, method, "/api/admin/audit", {});
        expect([404, 405], method).toContain(response.status);
        const item = await request(
          cookie,
          method,
          "/api/admin/audit/aud_01ARZ3NDEKTSV4RRFFQ69G5FAV",
          {},
        );
        expect([404, 405], method).toContain(item.status);
      }
      expect(await rowCounts()).toEqual(before);
    }));
});
