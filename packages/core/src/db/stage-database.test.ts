import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { describe, expect, it, onTestFinished } from "vitest";
import { config } from "../config";
import { openDatabase, queryRows } from "./client";
import { ensureAppRole, migrate } from "./migrator";
import {
  databaseOf,
  dropStageDatabase,
  ensureStageDatabase,
  maintenanceURL,
} from "./stage-database";

const server = process.env.TEST_DATABASE_URL;

describe("maintenanceURL and databaseOf", () => {
  it("keep the server and login and swap the database", () => {
    const url = "postgres://owner:p%40ss@db.example:5432/slipway_pr_42?sslmode=disable";
    expect(databaseOf(url)).toBe("slipway_pr_42");
    expect(maintenanceURL(url)).toBe(
      "postgres://owner:p%40ss@db.example:5432/postgres?sslmode=disable",
    );
  });
});

/**
 * A preview's own database on a shared server (ADR 026), as the migrator makes and drops it.
 * Postgres only (CI's Postgres phase): PGlite has one database and no logins. Each test makes a
 * database and a role of its own on TEST_DATABASE_URL's server and drops both.
 */
describe.skipIf(!server)(
  server
    ? "a preview's own database"
    : "a preview's own database: SKIPPED, needs TEST_DATABASE_URL",
  () => {
    async function setUp() {
      const suffix = randomBytes(5).toString("hex");
      const name = `slipway_pr_${suffix}`;
      const role = { username: `${name}_app`, password: `pw-${suffix}-0123456789` };
      const base = config().ownerDatabase;
      if (base.kind !== "postgres") throw new Error("TEST_DATABASE_URL is a Postgres server");
      const maintenance = await openDatabase({
        ...base,
        url: maintenanceURL(server ?? ""),
        poolMax: 1,
      });
      const stageURL = new URL(server ?? "");
      stageURL.pathname = `/${name}`;
      const clients: postgres.Sql[] = [];
      const connect = (url: URL) => {
        const client = postgres(url.toString(), { max: 1, onnotice: () => {} });
        clients.push(client);
        return client;
      };
      onTestFinished(async () => {
        await Promise.all(clients.map((client) => client.end({ timeout: 0 })));
        await maintenance.db
          .execute(`drop database if exists "${name}" with (force)`)
          .catch(() => {});
        await maintenance.db.execute(`drop role if exists "${role.username}"`).catch(() => {});
        await maintenance.close();
      });
      return { name, role, base, maintenance: maintenance.db, stageURL, connect };
    }

    it("is created once, migrated there, and only its own app role may connect", async () => {
      const { name, role, base, maintenance, stageURL, connect } = await setUp();
      expect(await ensureStageDatabase(maintenance, name)).toBe(true);
      // A second deploy (or two racing) finds it.
      expect(await ensureStageDatabase(maintenance, name)).toBe(false);

      const stage = await openDatabase({ ...base, url: stageURL.toString(), poolMax: 1 });
      onTestFinished(() => stage.close());
      await migrate(stage.db, config().migrationsDir);
      await ensureAppRole(stage.db, role);

      const appURL = new URL(stageURL);
      appURL.username = role.username;
      appURL.password = role.password;
      const [row] = await connect(appURL)<
        { n: number }[]
      >`select count(*)::int as n from task_receipt`;
      expect(row?.n).toBe(0);

      // Another login of the server (another stage's app role) is refused: no CONNECT via PUBLIC.
      const other = `${name}_other`;
      await maintenance.execute(`create role "${other}" login password 'other-0123456789'`);
      onTestFinished(async () => {
        await maintenance.execute(`drop role if exists "${other}"`);
      });
      const otherURL = new URL(stageURL);
      otherURL.username = other;
      otherURL.password = "other-0123456789";
      await expect(connect(otherURL)`select 1`).rejects.toMatchObject({ code: "42501" });
    });

    it("is dropped with its app role, its sessions closed, and a second drop is a no-op", async () => {
      const { name, role, maintenance, stageURL, connect } = await setUp();
      await ensureStageDatabase(maintenance, name);
      const stage = connect(stageURL);
      await stage.unsafe(`create role "${role.username}" login password '${role.password}'`);
      await stage`select 1`;
      await dropStageDatabase(maintenance, name, role.username);
      const left = await queryRows(
        maintenance,
        sql`select (select count(*) from pg_database where datname = ${name})::int as databases,
                   (select count(*) from pg_roles where rolname = ${role.username})::int as roles`,
      );
      expect(left).toEqual([{ databases: 0, roles: 0 }]);
      await dropStageDatabase(maintenance, name, role.username);
    });

    it("refuses a name that is not a stage's own", async () => {
      const { maintenance, role } = await setUp();
      await expect(ensureStageDatabase(maintenance, "postgres")).rejects.toThrow(
        "not a stage's own",
      );
      await expect(dropStageDatabase(maintenance, "template1", role.username)).rejects.toThrow(
        "not a stage's own",
      );
      await expect(ensureStageDatabase(maintenance, 'x"; drop table y; --')).rejects.toThrow(
        "lower-case name",
      );
    });
  },
);
