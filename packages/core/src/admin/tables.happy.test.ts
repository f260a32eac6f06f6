import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { signupAdmin } from "../../test/admin";
import { client, signupUser } from "../../test/app";
import { appTables } from "../../test/tables";
import { queryRows } from "../db/client";
import { rollback, useTransaction } from "../db/transaction";
import { jsonSafe } from "./tables";

const api = (cookie: string) => client(cookie).api.admin.tables;

/** Every row of `table` through the console, `limit` at a time, following nextCursor. */
async function allRows(cookie: string, table: string, limit: number, extra = {}) {
  const rows: Record<string, unknown>[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const response = await api(cookie)[":name"].rows.$get({
      param: { name: table },
      query: { limit: String(limit), ...(cursor ? { cursor } : {}), ...extra },
    });
    expect(response.status).toBe(200);
    const page = await response.json();
    expect(page.rows.length).toBeLessThanOrEqual(limit);
    rows.push(...page.rows);
    if (!page.nextCursor) return rows;
    cursor = page.nextCursor;
  }
  throw new Error("no last page");
}

const count = async (table: string) => {
  const [row] = await useTransaction((tx) =>
    queryRows<{ n: number }>(tx, sql`select count(*)::int as n from ${sql.identifier(table)}`),
  );
  return row?.n ?? 0;
};

describe("admin tables: happy paths", () => {
  it("lists every table of every module's *.sql.ts with its columns, secrets hidden", async () =>
    rollback(async () => {
      const { cookie } = await signupAdmin();
      const response = await api(cookie).$get();
      expect(response.status).toBe(200);
      const { tables } = await response.json();
      expect(tables.map((t) => t.name).sort()).toEqual(
        (await appTables()).map((t) => t.name).sort(),
      );
      const table = (name: string) => tables.find((t) => t.name === name);
      const column = (t: string, c: string) => table(t)?.columns.find((col) => col.name === c);
      expect(table("user")?.module).toBe("account");
      expect(column("user", "password_hash")).toMatchObject({ hidden: true, editable: false });
      expect(column("user", "email")).toEqual({
        name: "email",
        type: "text",
        nullable: false,
        primaryKey: false,
        indexed: true,
        hidden: false,
        editable: false,
      });
      expect(column("user", "name")).toMatchObject({ indexed: false, hidden: false });
      expect(column("user", "disabled_at")).toMatchObject({
        type: "timestamp with time zone",
        nullable: true,
      });
      expect(column("session", "token_hash")).toMatchObject({ hidden: true, primaryKey: true });
      expect(column("account_token", "token_hash")).toMatchObject({ hidden: true });
      expect(column("dev_mail", "text")).toMatchObject({ hidden: true });
      expect(column("note", "title")).toMatchObject({ editable: true });
      expect(table("note")).toMatchObject({ editable: true, pageKey: ["id"] });
      expect(table("user")).toMatchObject({ editable: false, pageKey: ["id"] });
      // A hidden primary key is never the cursor: a visible unique column, or a digest of it.
      expect(table("session")?.pageKey).toEqual(["id"]);
      expect(table("account_token")?.pageKey).toEqual(["sha256(token_hash)"]);
      expect(table("login_throttle")?.pageKey).toEqual(["email", "block"]);
      expect(column("login_throttle", "email")).toMatchObject({ primaryKey: true, indexed: true });
      expect(column("login_throttle", "block")).toMatchObject({ primaryKey: true, indexed: false });
      expect(table("admin_audit")?.editable).toBe(false);
    }));

  it("pages every row exactly once in key order, one at a time or many, and never a secret", async () =>
    rollback(async () => {
      const { cookie } = await signupAdmin();
      const member = await signupUser();
      for (let i = 0; i < 3; i++) await signupUser();
      const hashes = await useTransaction((tx) =>
        queryRows<{ h: string }>(
          tx,
          sql`select password_hash as h from "user" union all select token_hash from session
              union all select token_hash from account_token`,
        ),
      );
      expect(hashes.length).toBeGreaterThan(5);
      for (const table of ["user", "session", "account_token"]) {
        const total = await count(table);
        const single = await allRows(cookie, table, 1);
        const many = await allRows(cookie, table, 100);
        expect(single).toEqual(many);
        expect(single).toHaveLength(total);
        const text = JSON.stringify(single);
        for (const { h } of hashes) expect(text).not.toContain(h);
        expect(text).not.toContain("password_hash");
        expect(text).not.toContain("token_hash");
      }
      const users = await allRows(cookie, "user", 2);
      const ids = users.map((u) => u.id as string);
      expect(ids).toEqual([...ids].sort());
      expect(users.find((u) => u.id === member.user.id)).toMatchObject({
        email: member.email,
        role: "member",
        disabled_at: null,
        created_at: member.user.createdAt,
        previous_emails: [],
      });
    }));

  it("pages a composite key (login_throttle: email, block) and filters on it", async () =>
    rollback(async () => {
      const { cookie } = await signupAdmin();
      await useTransaction((tx) =>
        tx.execute(sql`insert into login_throttle (email, block, attempts, last_attempt_at) values
          ('a@x.test', '10.0.0.1', 1, now()), ('a@x.test', '10.0.0.2', 2, now()),
          ('b@x.test', '10.0.0.1', 3, now()), ('ab@x.test', '::/64', 4, now())`),
      );
      const rows = await allRows(cookie, "login_throttle", 1);
      expect(rows.map((r) => `${r.email}|${r.block}`)).toEqual([
        "a@x.test|10.0.0.1",
        "a@x.test|10.0.0.2",
        "ab@x.test|::/64",
        "b@x.test|10.0.0.1",
      ]);
      const exact = await allRows(cookie, "login_throttle", 1, { "filter[email]": "a@x.test" });
      expect(exact.map((r) => r.attempts)).toEqual([1, 2]);
      const prefix = await allRows(cookie, "login_throttle", 1, { "prefix[email]": "a" });
      expect(prefix.map((r) => r.attempts)).toEqual([1, 2, 4]);
    }));

  it("filters: equality and prefix on indexed columns, literally (no wildcard in the value)", async () =>
    rollback(async () => {
      const { cookie } = await signupAdmin();
      const ann = await signupUser({ email: `ann.${Date.now()}@example.com` });
      await signupUser({ email: `annie.${Date.now()}@example.com` });
      const byEmail = await allRows(cookie, "user", 10, { "filter[email]": ann.email });
      expect(byEmail.map((u) => u.id)).toEqual([ann.user.id]);
      const byPrefix = await allRows(cookie, "user", 10, { "prefix[email]": "ann" });
      expect(byPrefix).toHaveLength(2);
      expect(await allRows(cookie, "user", 10, { "prefix[email]": "an%" })).toEqual([]);
      expect(await allRows(cookie, "user", 10, { "filter[email]": "ann*" })).toEqual([]);
      const sessions = await allRows(cookie, "session", 10, { "filter[user_id]": ann.user.id });
      expect(sessions).toHaveLength(1);
      expect(sessions[0]).toMatchObject({ user_id: ann.user.id });
      expect(sessions[0]).not.toHaveProperty("token_hash");
    }));

  it("PATCH sets an editable column of one row, returns it, and records it in the audit log", async () =>
    rollback(async () => {
      const admin = await signupAdmin();
      const owner = await signupUser();
      const { note } = await (
        await client(owner.cookie).api.notes.$post({ json: { title: "rude", body: "b" } })
      ).json();
      const response = await api(admin.cookie)[":name"].rows.$patch({
        param: { name: "note" },
        json: { key: { id: note.id }, set: { title: "(removed by moderator)" } },
      });
      expect(response.status).toBe(200);
      expect((await response.json()).row).toMatchObject({
        id: note.id,
        title: "(removed by moderator)",
        body: "b",
      });
      const read = await client(owner.cookie).api.notes[":id"].$get({ param: { id: note.id } });
      expect((await read.json()).note.title).toBe("(removed by moderator)");
      const { entries } = await (
        await client(admin.cookie).api.admin.audit.$get({ query: {} })
      ).json();
      expect(entries[0]).toMatchObject({
        action: "table.update",
        target: `note:${note.id}`,
        actor: admin.email,
        actorUserId: admin.user.id,
        requestId: response.headers.get("x-request-id"),
        details: { table: "note", key: { id: note.id }, set: { title: "(removed by moderator)" } },
      });
    }));
});

describe("admin tables: JSON-safe values", () => {
  it("dates, bigints, bytes, non-finite numbers and nested values become JSON", () => {
    const value = {
      at: new Date("2030-01-02T03:04:05.678Z"),
      big: 12345678901234567890n,
      bytes: new Uint8Array([0, 1, 254, 255]),
      nan: Number.NaN,
      nested: [{ when: new Date(0), n: 1n }],
      plain: "x",
      none: null,
    };
    const safe = jsonSafe(value);
    expect(JSON.parse(JSON.stringify(safe))).toEqual({
      at: "2030-01-02T03:04:05.678Z",
      big: "12345678901234567890",
      bytes: "AAH+/w==",
      nan: "NaN",
      nested: [{ when: "1970-01-01T00:00:00.000Z", n: "1" }],
      plain: "x",
      none: null,
    });
  });
});
