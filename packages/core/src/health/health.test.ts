import { describe, expect, it } from "vitest";
import { client } from "../../test/app";
import { bootApp, fixtureMigrations, freshDatabase } from "../../test/database";
import { captureLogs } from "../../test/logs";
import { rollback } from "../db/transaction";

describe("health", () => {
  it("GET /api/health answers 200 ok", async () => {
    const response = await client().api.health.$get();
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it("GET /api/health/ready answers 200 on the migrated test database", async () =>
    rollback(async () => {
      const response = await client().api.health.ready.$get();
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ status: "ready" });
    }));

  it("503 before migrations, naming the pending ones; 200 once the migrator ran", async () => {
    const fresh = await freshDatabase();
    const booted = await bootApp(
      { ...fresh.env, MIGRATIONS_DIR: fixtureMigrations("ok") },
      fresh.handle,
    );

    const { health } = client(undefined, booted.app).api;
    const before = await health.ready.$get();
    expect(before.status).toBe(503);
    expect(await before.json()).toEqual({
      error: {
        code: "not_ready",
        message: "2 migration(s) not applied yet",
        details: { pending: ["0000_create_counter", "0001_count_once"] },
      },
    });

    await booted.migrator.migrate(fresh.handle.db, booted.config.migrationsDir);
    const after = await health.ready.$get();
    expect(after.status).toBe(200);
    expect(await after.json()).toEqual({ status: "ready", migrations: { applied: 2 } });
  });

  it("503 when the database does not answer, without leaking the driver's message", async () => {
    const logs = captureLogs();
    // Port 1 on loopback refuses connections at once.
    const booted = await bootApp({
      DATABASE_URL: "postgres://nobody:secret@127.0.0.1:1/none",
      LOG_LEVEL: "warn",
    });
    const response = await client(undefined, booted.app).api.health.ready.$get();
    expect(response.status).toBe(503);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({
      error: { code: "not_ready", message: "The database is not reachable" },
    });
    expect(text).not.toContain("127.0.0.1");
    expect(logs.some((line) => line.message === "readiness: database check failed")).toBe(true);
  });
});
