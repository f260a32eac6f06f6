import { randomBytes } from "node:crypto";
import { createServer, connect as netConnect, type Socket } from "node:net";
import postgres from "postgres";
import { describe, expect, it, onTestFinished } from "vitest";
import { bootApp, freshDatabase } from "../../test/database";
import { PNG } from "../../test/fixtures/png";
import { ORIGIN } from "../../test/http";
import { captureLogs } from "../../test/logs";
import { appTables } from "../../test/tables";
import { config, DEFAULT_TIMEOUTS } from "../config";
import { type AppRole, ensureAppRole, MigrationError, migrate } from "./migrator";

const server = process.env.TEST_DATABASE_URL;

/**
 * The role the app and the worker log in as (db/migrator.ts `ensureAppRole`): rows, not schema.
 * Postgres only (CI's Postgres phase): PGlite has a single connection, nobody logs in as a role.
 * Roles belong to the whole server: each test makes one of its own and drops it.
 */
describe.skipIf(!server)(
  server ? "the app role" : "the app role: SKIPPED, needs TEST_DATABASE_URL (CI's Postgres phase)",
  () => {
    async function setUp() {
      const fresh = await freshDatabase();
      await migrate(fresh.handle.db, config().migrationsDir);
      const suffix = randomBytes(5).toString("hex");
      const role: AppRole = {
        username: `slipway_app_${suffix}`,
        password: `pw-${suffix}-0123456789`,
      };
      const ownerURL = new URL(fresh.env.DATABASE_URL ?? "");
      const appURL = new URL(ownerURL);
      appURL.username = role.username;
      appURL.password = role.password;
      const clients: postgres.Sql[] = [];
      const connect = (url: URL) => {
        const client = postgres(url.toString(), { max: 1, onnotice: () => {} });
        clients.push(client);
        return client;
      };
      onTestFinished(async () => {
        await Promise.all(clients.map((client) => client.end({ timeout: 0 })));
        // Its grants live in the test's database (dropped with it) and on the database itself.
        const owner = postgres(ownerURL.toString(), { max: 1, onnotice: () => {} });
        await owner.unsafe(`drop owned by ${role.username}`).catch(() => {});
        await owner.end();
        const admin = postgres(server ?? "", { max: 1, onnotice: () => {} });
        await admin.unsafe(`drop role if exists ${role.username}`);
        await admin.end();
      });
      return {
        fresh,
        role,
        appURL,
        ensure: (db = fresh.handle.db) => ensureAppRole(db, role),
        asApp: () => connect(appURL),
        asOwner: () => connect(ownerURL),
      };
    }

    const sqlState = (error: unknown) => (error as { code?: string }).code;

    it("reads and writes every table and uses every sequence the migrations made", async () => {
      const { ensure, asApp, asOwner } = await setUp();
      await ensure();
      const owner = asOwner();
      const tables = (
        await owner<{ name: string }[]>`
        select tablename as name from pg_tables where schemaname = 'public' order by 1`
      ).map((row) => row.name);
      // Every table a module defines is there (so "every table" is the app's, not a subset).
      expect(tables).toEqual(expect.arrayContaining((await appTables()).map((t) => t.name)));
      // (None today: the "later" table below covers a sequence made after the role.)
      const sequences = await owner<{ name: string }[]>`
      select relname as name from pg_class
      where relkind = 'S' and relnamespace = 'public'::regnamespace`;

      const app = asApp();
      // Privileges are checked when a statement runs, whether or not a row matches.
      await app
        .begin(async (tx) => {
          for (const table of tables) {
            const t = tx(table);
            await tx`insert into ${t} select * from ${t} where false`;
            await tx`select count(*) from ${t}`;
            await tx`delete from ${t} where false`;
          }
          for (const { name } of sequences) await tx`select nextval(${`public.${name}`})`;
          throw new Error("rollback");
        })
        .catch((error: unknown) => {
          if (!(error instanceof Error && error.message === "rollback")) throw error;
        });
      // UPDATE on every column: a table's own first column set to itself.
      for (const table of tables) {
        const [column] = await owner<{ name: string }[]>`
        select column_name as name from information_schema.columns
        where table_schema = 'public' and table_name = ${table} order by ordinal_position limit 1`;
        await app`update ${app(table)} set ${app(column?.name ?? "")} = ${app(column?.name ?? "")} where false`;
      }
    });

    it("cannot change the schema: create, drop, alter, truncate, grant, or write the migrations table", async () => {
      const { ensure, asApp } = await setUp();
      await ensure();
      const app = asApp();
      const refused = [
        "create table intruder (id int)",
        "create table drizzle.intruder (id int)",
        "create schema intruder",
        "drop table note",
        "alter table note add column intruder int",
        "create index intruder on note (title)",
        "truncate note",
        "comment on table note is 'mine'",
        "create function intruder() returns int language sql as 'select 1'",
        "insert into drizzle.__drizzle_migrations (hash, created_at) values ('x', 1)",
        "delete from drizzle.__drizzle_migrations",
        "set role postgres",
        // TEMP is granted to PUBLIC by default: the app role needs none (fails without the revoke).
        "create temp table intruder (id int)",
      ];
      const outcomes: Record<string, string | undefined> = {};
      for (const statement of refused) {
        outcomes[statement] = await app.unsafe(statement).then(
          () => "allowed",
          (error: unknown) => sqlState(error),
        );
      }
      // 42501: insufficient_privilege (and "must be owner of table note" shares it).
      expect(outcomes).toEqual(Object.fromEntries(refused.map((s) => [s, "42501"])));
      // What readiness reads: the applied migrations, read-only.
      const [applied] = await app`select count(*)::int as n from drizzle.__drizzle_migrations`;
      expect(applied?.n).toBeGreaterThan(0);
      const [attributes] = await app`
      select rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin,
        (select count(*)::int from pg_auth_members m where m.member = r.oid) as memberships,
        (select count(*)::int from pg_class c where c.relowner = r.oid) as owned
      from pg_roles r where rolname = current_user`;
      expect(attributes).toEqual({
        rolsuper: false,
        rolcreaterole: false,
        rolcreatedb: false,
        rolreplication: false,
        rolbypassrls: false,
        rolcanlogin: true,
        memberships: 0,
        owned: 0,
      });
    });

    it("serves the app's flows as the app role: accounts, notes, attachments, limits, readiness, and the worker's tasks", async () => {
      const { ensure, appURL, asOwner } = await setUp();
      await ensure();
      // Which tables the app's statements write, as the server sees them: a statement trigger on
      // each (it fires even when no row matched), logging through the owner's function.
      const owner = asOwner();
      await owner.unsafe(`
      create table write_log (tbl text, op text);
      create function log_write() returns trigger language plpgsql security definer
        as $$ begin insert into write_log values (tg_table_name, tg_op); return null; end $$;
      revoke all on write_log from public;`);
      const tables = (await appTables()).map((t) => t.name);
      for (const table of tables) {
        await owner.unsafe(`create trigger "log_${table}" after insert or update or delete on "${table}"
        for each statement execute function log_write()`);
      }
      const booted = await bootApp({ DATABASE_URL: appURL.toString() });
      const [{ site }, { tasks }, { relay }, { localQueue }, { createWorker }, transaction] =
        await Promise.all([
          import("../api"),
          import("../tasks"),
          import("../task/task"),
          import("../task/runtime"),
          import("../task/worker"),
          import("./transaction"),
        ]);
      // The booted app's own database is the app role's.
      expect(
        await transaction.useTransaction(async (tx) => {
          const { queryRows } = await import("./client");
          const { sql } = await import("drizzle-orm");
          return queryRows<{ user: string }>(tx, sql`select current_user as user`);
        }),
      ).toEqual([{ user: appURL.username }]);

      const origin = { origin: ORIGIN };
      const send = (path: string, method: string, body?: unknown, cookie?: string) =>
        booted.app.request(path, {
          method,
          headers: {
            ...origin,
            ...(body === undefined ? {} : { "content-type": "application/json" }),
            ...(cookie ? { cookie } : {}),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      const account = { email: "role@example.com", password: "a strong password", name: "Role" };
      expect((await send("/api/auth/signup", "POST", account)).status).toBe(201);
      // A failed login writes the limiter's rows.
      const wrong = await send("/api/auth/login", "POST", {
        email: account.email,
        password: "wrong password",
      });
      expect(wrong.status, await wrong.clone().text()).toBe(401);
      const login = await send("/api/auth/login", "POST", {
        email: account.email,
        password: account.password,
      });
      expect(login.status).toBe(200);
      const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
      expect((await send("/api/auth/me", "GET", undefined, cookie)).status).toBe(200);

      const created = await send("/api/notes", "POST", { title: "as the app", body: "b" }, cookie);
      expect(created.status).toBe(201);
      const { note } = (await created.json()) as { note: { id: string } };
      expect(
        (await send(`/api/notes/${note.id}`, "PATCH", { title: "edited" }, cookie)).status,
      ).toBe(200);
      expect((await send("/api/notes", "GET", undefined, cookie)).status).toBe(200);

      // An attachment: declared, uploaded to the local store, completed, checked by the worker.
      const declared = await send(
        `/api/notes/${note.id}/attachments`,
        "POST",
        { filename: "a.png", contentType: "image/png", size: PNG.byteLength },
        cookie,
      );
      expect(declared.status).toBe(201);
      const { attachment, upload } = (await declared.json()) as {
        attachment: { id: string };
        upload: { url: string; fields: Record<string, string> };
      };
      const form = new FormData();
      for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
      form.append("file", new Blob([PNG], { type: "image/png" }));
      const uploaded = await site.request(new URL(upload.url).pathname, {
        method: "POST",
        body: form,
      });
      expect(uploaded.status).toBeLessThan(300);
      expect(
        (await send(`/api/attachments/${attachment.id}/complete`, "POST", {}, cookie)).status,
      ).toBe(202);

      // Every task handler's statements: relay the outbox, run the queue, then the schedules' tasks.
      const worker = createWorker(tasks);
      const drain = async () => {
        for (;;) {
          await relay();
          const batch = await localQueue().receive(10);
          if (batch.length === 0) return;
          expect((await worker(localQueue().toEvent(batch))).batchItemFailures).toEqual([]);
          await localQueue().delete(batch.map((m) => m.receiptHandle));
        }
      };
      await drain();
      // The verification mail went to the dev mailbox; its link verifies the address (so the
      // digest below writes its rows), and the session list is read as the app role.
      const mailbox = (await (await send("/api/dev/mail", "GET")).json()) as {
        messages: { to: string; text: string }[];
      };
      const link = mailbox.messages.find((m) => m.to === account.email)?.text ?? "";
      const token = /verify-email#token=([\w-]+)/.exec(link)?.[1] ?? "";
      expect((await send("/api/auth/verify-email", "POST", { token })).status).toBe(200);
      expect((await send("/api/auth/sessions", "GET", undefined, cookie)).status).toBe(200);
      const { enqueue } = await import("../task/task");
      const { cleanupTask } = await import("../maintenance/maintenance");
      const { dailyTask } = await import("../digest/digest");
      await transaction.createTransaction(async () => {
        await enqueue(cleanupTask, {});
        await enqueue(dailyTask, {});
      });
      await drain();

      const checked = await send(`/api/attachments/${attachment.id}`, "GET", undefined, cookie);
      expect(await checked.json()).toMatchObject({ attachment: { status: "ready" } });
      const ready = await send("/api/health/ready", "GET");
      expect(ready.status).toBe(200);
      expect(
        (await send(`/api/attachments/${attachment.id}`, "DELETE", undefined, cookie)).status,
      ).toBe(204);
      expect((await send(`/api/notes/${note.id}`, "DELETE", undefined, cookie)).status).toBe(204);
      await drain();
      expect((await send("/api/auth/logout", "POST", {}, cookie)).status).toBe(204);
      // Deleting the account: every table that names the user, as the app role.
      const again = await send("/api/auth/login", "POST", {
        email: account.email,
        password: account.password,
      });
      let last = (again.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
      // An admin action writes the audit log as the app role (the role is granted as the CLI
      // does, by the owner): the user signs themselves out everywhere, then signs in again.
      const me = (await (await send("/api/auth/me", "GET", undefined, last)).json()) as {
        user: { id: string };
      };
      await owner`update "user" set role = 'admin' where id = ${me.user.id}`;
      const revoked = await send(
        `/api/admin/users/${me.user.id}/revoke-sessions`,
        "POST",
        {},
        last,
      );
      expect(revoked.status, await revoked.clone().text()).toBe(200);
      const relogin = await send("/api/auth/login", "POST", {
        email: account.email,
        password: account.password,
      });
      last = (relogin.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
      const deleted = await send("/api/auth/me", "DELETE", { password: account.password }, last);
      expect(deleted.status, await deleted.clone().text()).toBe(204);

      const written = await owner<{ tbl: string; ops: string[] }[]>`
      select tbl, array_agg(distinct op order by op) as ops from write_log group by tbl order by tbl`;
      expect(written.map((row) => row.tbl)).toEqual([...tables].sort());
    });

    it("is idempotent, and tables later migrations add are the app's too", async () => {
      const { ensure, asApp, asOwner } = await setUp();
      await ensure();
      const grants = (app: postgres.Sql) => app`
      select table_schema, table_name, privilege_type from information_schema.role_table_grants
      where grantee = current_user order by 1, 2, 3`;
      const app = asApp();
      const before = await grants(app);
      await ensure();
      expect(await grants(app)).toEqual(before);

      // As a migration would: the owner creates a table and a sequence after the role exists.
      await asOwner().unsafe("create table later (id bigserial primary key, v text)");
      await app`insert into later (v) values ('new')`;
      expect(await app`select v from later`).toEqual([{ v: "new" }]);
    });

    it("refuses to take over the owner, or a role with more than DML", async () => {
      const { fresh, role, asOwner } = await setUp();
      const owner = asOwner();
      const [me] = await owner<{ name: string }[]>`select current_user as name`;
      // The owner's own name: its password would be replaced by the app's.
      await expect(
        ensureAppRole(fresh.handle.db, { username: me?.name ?? "", password: role.password }),
      ).rejects.toThrow(/is the owner running the migrator/);

      await owner.unsafe(`create role ${role.username} login createdb`);
      await expect(ensureAppRole(fresh.handle.db, role)).rejects.toThrow(
        new RegExp(`App role ${role.username} not updated: .*CREATEDB`),
      );
      await owner.unsafe(`alter role ${role.username} nocreatedb`);
      await owner.unsafe(`grant ${me?.name} to ${role.username}`);
      await expect(ensureAppRole(fresh.handle.db, role)).rejects.toThrow(
        new RegExp(`is a member of ${me?.name}`),
      );
      await owner.unsafe(`revoke ${me?.name} from ${role.username}`);
      await ensureAppRole(fresh.handle.db, role);

      await expect(
        ensureAppRole(fresh.handle.db, {
          username: "Robert'); drop table note;--",
          password: role.password,
        }),
      ).rejects.toBeInstanceOf(MigrationError);
      await expect(
        ensureAppRole(fresh.handle.db, { username: role.username, password: "short" }),
      ).rejects.toThrow(/at least 16 printable ASCII characters/);
    });

    it("the password never reaches the server or the logs: a SCRAM verifier is sent, quoted", async () => {
      const { fresh, role, asOwner } = await setUp();
      // A password that would break naive quoting, and a wire tap between the migrator and the server.
      const tricky: AppRole = {
        username: role.username,
        password: `it's "quoted" $$ \\ ;--${role.password}`,
      };
      const target = new URL(fresh.env.DATABASE_URL ?? "");
      const seen: Buffer[] = [];
      const sockets = new Set<Socket>();
      const tap = createServer((client) => {
        const upstream = netConnect({ host: target.hostname, port: Number(target.port) });
        sockets.add(client).add(upstream);
        client.on("data", (chunk) => seen.push(Buffer.from(chunk)));
        client.pipe(upstream).pipe(client);
        const close = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on("error", close).on("close", close);
        upstream.on("error", close).on("close", close);
      });
      await new Promise<void>((resolve) => tap.listen(0, "127.0.0.1", resolve));
      onTestFinished(() => {
        for (const socket of sockets) socket.destroy();
        tap.close();
      });
      const tapped = new URL(target);
      tapped.port = String((tap.address() as { port: number }).port);
      const { openDatabase } = await import("./client");
      const handle = await openDatabase({
        kind: "postgres",
        url: tapped.toString(),
        poolMax: 1,
        timeouts: DEFAULT_TIMEOUTS,
      });
      onTestFinished(() => handle.close());
      const logs = captureLogs();

      await ensureAppRole(handle.db, tricky);
      const wire = Buffer.concat(seen).toString("latin1");
      expect(wire).toContain("SCRAM-SHA-256$4096:");
      expect(wire).not.toContain(tricky.password);
      expect(JSON.stringify(logs)).not.toContain(tricky.password);
      const [stored] = await asOwner()<{ secret: string }[]>`
      select rolpassword as secret from pg_authid where rolname = ${role.username}`;
      expect(stored?.secret).toMatch(/^SCRAM-SHA-256\$4096:/);
    });
  },
);
