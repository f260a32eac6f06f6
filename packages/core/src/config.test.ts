import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, repoRoot } from "./config";

const noLinks = {};
const problems = (env: Record<string, string>, links: object = noLinks) => {
  try {
    loadConfig(env, links);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error("expected a ConfigError");
};

describe("config", () => {
  it("falls back to the offline defaults: PGlite under .data/, port 3000, migrate on boot", () => {
    const config = loadConfig({}, noLinks);
    expect(config).toMatchObject({
      stage: "local",
      port: 3000,
      deployed: false,
      database: { kind: "pglite", dataDir: path.join(repoRoot, ".data", "pglite") },
      migrationsDir: path.join(repoRoot, "migrations"),
      migrateOnBoot: true,
      bodyLimitBytes: 1024 * 1024,
      logLevel: "info",
    });
  });

  it("takes env vars over the defaults, and treats empty values as unset", () => {
    const config = loadConfig(
      { PORT: "8080", DATABASE_URL: "postgres://u:p@db:5432/app", LOG_LEVEL: "", STAGE: "" },
      noLinks,
    );
    expect(config.port).toBe(8080);
    expect(config.database).toEqual({
      kind: "postgres",
      url: "postgres://u:p@db:5432/app",
      poolMax: 5,
      timeouts: { connectSeconds: 2, watchdogMs: 2000, probeSeconds: 1, statementMs: 20_000 },
    });
    expect(config.logLevel).toBe("info");
    expect(config.stage).toBe("local");
  });

  it("takes SST links over env vars and does not migrate on boot when deployed", () => {
    const links = {
      App: { name: "slipway", stage: "production" },
      Database: {
        host: "db.internal",
        port: 5432,
        username: "app",
        password: "p@ss/word",
        database: "slipway",
      },
    };
    const config = loadConfig({ DATABASE_URL: "postgres://ignored@x/y", STAGE: "dev" }, links);
    expect(config.stage).toBe("production");
    expect(config.deployed).toBe(true);
    expect(config.migrateOnBoot).toBe(false);
    expect(config.database).toMatchObject({ kind: "postgres" });
    // Credentials with URL metacharacters survive the round trip.
    const url = new URL((config.database as { url: string }).url);
    expect(decodeURIComponent(url.password)).toBe("p@ss/word");
    expect(url.hostname).toBe("db.internal");
  });

  it("names each malformed variable and what it expected", () => {
    const message = problems({
      PORT: "abc",
      DATABASE_URL: "mysql://x",
      LOG_LEVEL: "loud",
      MIGRATE_ON_BOOT: "maybe",
      BODY_LIMIT_BYTES: "-1",
    });
    expect(message).toContain('PORT: expected an integer between 1 and 65535 (got "abc")');
    expect(message).toContain(
      'DATABASE_URL: expected a postgres:// or postgresql:// URL (got "mysql://x")',
    );
    expect(message).toMatch(/LOG_LEVEL: .*"debug".*\(got "loud"\)/);
    expect(message).toContain('MIGRATE_ON_BOOT: expected true or false (got "maybe")');
    expect(message).toContain("BODY_LIMIT_BYTES: expected an integer between 1 and");
  });

  it("rejects a Database link without the fields it needs", () => {
    expect(problems({}, { Database: { host: "db" } })).toContain(
      "Resource.Database: expected host, port, username, password and database",
    );
  });

  it("stops the server at start with the message, before it opens anything", () => {
    const result = spawnSync(
      process.execPath,
      ["--import", "tsx", path.join(repoRoot, "packages/core/src/server.ts")],
      {
        env: { ...process.env, PORT: "not-a-port", DATABASE_URL: "" },
        encoding: "utf8",
        timeout: 30_000,
      },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("Invalid configuration");
    expect(result.stderr).toContain(
      'PORT: expected an integer between 1 and 65535 (got "not-a-port")',
    );
  });
});
