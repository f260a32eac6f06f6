import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { request, signupAdmin } from "../../test/admin";
import { client, rowCounts, signupUser } from "../../test/app";
import { errorOf, issuesOf } from "../../test/http";
import { rollback } from "../db/transaction";

const rows = (name: string, query = "") => `/api/admin/tables/${name}/rows${query}`;

describe("admin tables: errors", () => {
  it("an unknown table is a 404 for reading and for a change", async () =>
    rollback(async () => {
      const { cookie } = await signupAdmin();
      const read = await request(cookie, "GET", rows("no_such_table"));
      expect(read.status).toBe(404);
      expect(await errorOf(read)).toMatchObject({
        code: "not_found",
        message: 'No table "no_such_table"',
      });
      const change = await request(cookie, "PATCH", rows("no_such_table"), {
        key: { id: "x" },
        set: { a: 1 },
      });
      expect(change.status).toBe(404);
    }));

  it.each([
    ["?filter[nope]=1", "filter[nope]", /has no column "nope"/],
    ["?prefix[nope]=1", "prefix[nope]", /has no column "nope"/],
    ["?filter[name]=Ann", "filter[name]", /name is not indexed/],
    ["?filter[password_hash]=x", "filter[password_hash]", /hidden/],
    ["?filter[previous_emails]=x", "filter[previous_emails]", /not indexed|scalar/],
    ["?cursor=garbage", "cursor", /not a cursor/],
    [`?cursor=${Buffer.from('["a","b"]').toString("base64url")}`, "cursor", /not a cursor/],
    [`?cursor=${Buffer.from("[1]").toString("base64url")}`, "cursor", /not a cursor/],
    ["?limit=0", "limit", /1 to 100/],
    ["?limit=101", "limit", /1 to 100/],
    ["?limit=1.5", "limit", /1 to 100/],
    ["?limit=1&limit=2", "limit", /more than once/],
    ["?filter[email]=a&filter[email]=b", "filter[email]", /more than once/],
    ["?sort=email", "sort", /not a parameter/],
    ["?filter[email]=%00", "filter[email]", /NUL/],
  ])("GET user rows%s is a 400 naming %s, nothing written", async (query, path, message) => {
    await rollback(async () => {
      const { cookie } = await signupAdmin();
      const before = await rowCounts();
      const response = await request(cookie, "GET", rows("user", query));
      expect(response.status).toBe(400);
      const error = await errorOf(response);
      expect(error.code).toBe("validation_failed");
      const issues = (error.details?.issues ?? []).filter((issue) => issue.path === path);
      expect(issues.map((i) => i.message).join("; ")).toMatch(message);
      expect(await rowCounts()).toEqual(before);
    });
  });

  it("a value the column's type cannot take is a 400 naming the filter; prefix only on text; the transaction lives on", async () =>
    rollback(async () => {
      const { cookie } = await signupAdmin();
      const before = await rowCounts();
      const bad = await request(cookie, "GET", rows("session", "?filter[expires_at]=not-a-date"));
      expect(bad.status).toBe(400);
      expect(await issuesOf(bad)).toEqual(["filter[expires_at]"]);
      const prefix = await request(cookie, "GET", rows("session", "?prefix[expires_at]=2030"));
      expect(prefix.status).toBe(400);
      expect((await errorOf(prefix)).details?.issues?.[0]?.message).toMatch(/prefix takes text/);
      const good = await request(
        cookie,
        "GET",
        rows("session", "?filter[expires_at]=2030-01-01T00:00:00Z"),
      );
      expect(good.status).toBe(200);
      expect(await rowCounts()).toEqual(before);
    }));

  it("a not-indexed filter names the columns that do take one", async () =>
    rollback(async () => {
      const { cookie } = await signupAdmin();
      const response = await request(cookie, "GET", rows("user", "?filter[name]=x"));
      const [issue] = (await errorOf(response)).details?.issues ?? [];
      expect(issue?.allowed).toEqual(expect.arrayContaining(["id", "email"]));
      expect(issue?.allowed).not.toContain("password_hash");
    }));

  it("PATCH: read-only tables are 403, the audit log above all; nothing changes", async () =>
    rollback(async () => {
      const { cookie, user } = await signupAdmin();
      const before = await rowCounts();
      for (const [table, key, set] of [
        ["user", { id: user.id }, { role: "member" }],
        ["admin_audit", { id: "aud_01ARZ3NDEKTSV4RRFFQ69G5FAV" }, { action: "nothing" }],
        ["session", { token_hash: "x" }, { user_id: user.id }],
      ] as const) {
        const response = await request(cookie, "PATCH", rows(table), { key, set });
        expect(response.status, table).toBe(403);
        expect((await errorOf(response)).message).toMatch(/read-only/);
      }
      expect(await rowCounts()).toEqual(before);
      const me = await client(cookie).api.auth.me.$get();
      expect((await me.json()).user.role).toBe("admin");
    }));

  it("PATCH: columns not opted in, a partial key, nulls and objects are 400 naming them; an unknown row 404", async () =>
    rollback(async () => {
      const admin = await signupAdmin();
      const owner = await signupUser();
      const { note } = await (
        await client(owner.cookie).api.notes.$post({ json: { title: "t", body: "b" } })
      ).json();
      const before = await rowCounts();
      const cases: [unknown, string[]][] = [
        [{ key: { id: note.id }, set: { body: "x" } }, ["set.body"]],
        [{ key: { id: note.id }, set: { nope: "x" } }, ["set.nope"]],
        [{ key: { id: note.id }, set: { title: null } }, ["set.title"]],
        [{ key: { id: note.id }, set: { title: { a: 1 } } }, ["set.title"]],
        [{ key: { id: note.id }, set: {} }, ["set"]],
        [{ key: {}, set: { title: "x" } }, ["key.id"]],
        [{ key: { id: note.id, user_id: "x" }, set: { title: "x" } }, ["key.user_id"]],
        [{ key: { id: note.id }, set: { title: "x" }, extra: 1 }, [""]],
        [{ key: { id: note.id }, set: { title: "a\u0000b" } }, ["set.title"]],
      ];
      for (const [body, paths] of cases) {
        const response = await request(admin.cookie, "PATCH", rows("note"), body);
        expect(response.status, JSON.stringify(body)).toBe(400);
        expect(await issuesOf(response), JSON.stringify(body)).toEqual(
          expect.arrayContaining(paths),
        );
      }
      const missing = await request(admin.cookie, "PATCH", rows("note"), {
        key: { id: "not_01ARZ3NDEKTSV4RRFFQ69G5FAV" },
        set: { title: "x" },
      });
      expect(missing.status).toBe(404);
      expect(await rowCounts()).toEqual(before);
      const read = await client(owner.cookie).api.notes[":id"].$get({ param: { id: note.id } });
      expect((await read.json()).note).toMatchObject({ title: "t", body: "b" });
    }));

  it(
    "any cursor and filter values on any table: a page or a 400, never a 500, nothing written",
    async () =>
      rollback(async () => {
        const { cookie } = await signupAdmin();
        const before = await rowCounts();
        const text = fc.oneof(
          fc.string({ unit: "binary" }),
          fc.string({
            unit: fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u)),
          }),
          fc
            .string({ unit: "binary" })
            .map((v) => Buffer.from(JSON.stringify([v])).toString("base64url")),
        );
        const cases = fc.record({
          table: fc.constantFrom(
            "user",
            "session",
            "account_token",
            "login_throttle",
            "note",
            "task_outbox",
          ),
          column: fc.constantFrom("id", "email", "user_id", "expires_at", "block", "created_at"),
          op: fc.constantFrom("filter", "prefix"),
          value: text,
          cursor: fc.option(text),
        });
        await fc.assert(
          fc.asyncProperty(cases, async ({ table, column, op, value, cursor }) => {
            const query = new URLSearchParams({ [`${op}[${column}]`]: value });
            if (cursor !== null) query.set("cursor", cursor);
            const response = await request(cookie, "GET", rows(table, `?${query}`));
            expect([200, 400]).toContain(response.status);
          }),
          { numRuns: 40 },
        );
        expect(await rowCounts()).toEqual(before);
      }),
    60_000,
  );
});
