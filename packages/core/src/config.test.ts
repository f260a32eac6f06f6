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
      ssl: "off",
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

  it("traces: TRACES_SAMPLE_RATE 1 offline, 0.05 deployed unless set, 0 to 1 only; DEV_TRACES offline only", () => {
    const deployed = { App: { name: "slipway", stage: "production" } };
    expect(loadConfig({}, noLinks).sentry.tracesSampleRate).toBe(1);
    expect(loadConfig({}, deployed).sentry.tracesSampleRate).toBe(0.05);
    expect(loadConfig({ TRACES_SAMPLE_RATE: "0.2" }, deployed).sentry.tracesSampleRate).toBe(0.2);
    for (const bad of ["2", "-0.1", "often"]) {
      expect(problems({ TRACES_SAMPLE_RATE: bad })).toContain(
        "TRACES_SAMPLE_RATE: expected a number from 0 to 1",
      );
    }
    expect(loadConfig({}, noLinks).devTraces).toBe(false);
    expect(loadConfig({ DEV_TRACES: "true" }, noLinks).devTraces).toBe(true);
    expect(problems({ DEV_TRACES: "true" }, deployed)).toContain("DEV_TRACES:");
  });

  it("SLIPWAY_TEST_ARGON2 (the tests' cheap password hashing) is refused outside vitest (the bundles compile it away: password.test)", () => {
    const deployed = { App: { name: "slipway", stage: "production" } };
    const refusal = "SLIPWAY_TEST_ARGON2: cheap password hashing is for the test runner only";
    expect(problems({ SLIPWAY_TEST_ARGON2: "cheap" })).toContain(refusal);
    expect(problems({ SLIPWAY_TEST_ARGON2: "cheap" }, deployed)).toContain(refusal);
    // A test standing in for a deployed stage (mocked links) keeps the cheap hashing.
    expect(() =>
      loadConfig({ SLIPWAY_TEST_ARGON2: "cheap", VITEST: "true" }, deployed),
    ).not.toThrow();
    expect(() =>
      loadConfig({ SLIPWAY_TEST_ARGON2: "cheap", VITEST: "true" }, noLinks),
    ).not.toThrow();
  });

  it("quotas: 1000 notes, 1 GiB of attachments and 60 writes a minute per user unless set; a bad value is an error naming it", () => {
    expect(loadConfig({}, noLinks).quotas).toEqual({
      notesPerUser: 1000,
      attachmentBytesPerUser: 1024 ** 3,
      writesPerMinute: 60,
    });
    const set = {
      QUOTA_NOTES_PER_USER: "5",
      QUOTA_ATTACHMENT_BYTES_PER_USER: "2048",
      QUOTA_WRITES_PER_MINUTE: "10",
    };
    expect(loadConfig(set, noLinks).quotas).toEqual({
      notesPerUser: 5,
      attachmentBytesPerUser: 2048,
      writesPerMinute: 10,
    });
    const message = problems({
      QUOTA_NOTES_PER_USER: "0",
      QUOTA_ATTACHMENT_BYTES_PER_USER: "1.5",
      QUOTA_WRITES_PER_MINUTE: "lots",
    });
    expect(message).toContain(
      'QUOTA_NOTES_PER_USER: expected an integer between 1 and 10000000 (got "0")',
    );
    expect(message).toContain(
      `QUOTA_ATTACHMENT_BYTES_PER_USER: expected an integer between 1 and ${1024 ** 4} (got "1.5")`,
    );
    expect(message).toContain(
      'QUOTA_WRITES_PER_MINUTE: expected an integer between 1 and 1000000 (got "lots")',
    );
  });

  it("sessions: 14 days sliding within 30 days absolute unless set; an absolute lifetime shorter than the sliding one is an error naming both", () => {
    expect(loadConfig({}, noLinks).session).toMatchObject({ ttlHours: 336, absoluteTtlHours: 720 });
    expect(
      loadConfig({ SESSION_TTL_HOURS: "24", SESSION_ABSOLUTE_TTL_HOURS: "24" }, noLinks).session,
    ).toMatchObject({ ttlHours: 24, absoluteTtlHours: 24 });
    expect(problems({ SESSION_TTL_HOURS: "48", SESSION_ABSOLUTE_TTL_HOURS: "24" })).toContain(
      "SESSION_ABSOLUTE_TTL_HOURS: must be at least SESSION_TTL_HOURS (48)",
    );
    expect(problems({ SESSION_ABSOLUTE_TTL_HOURS: "0" })).toContain(
      'SESSION_ABSOLUTE_TTL_HOURS: expected an integer between 1 and 8760 (got "0")',
    );
  });

  describe("the origin secret and the listening address", () => {
    const secret = "s3cret-".repeat(5); // 35 characters

    it("ORIGIN_SECRET: unset offline; from env or the OriginSecret link (the link wins); under 32 characters an error that does not echo it", () => {
      expect(loadConfig({}, noLinks).originSecret).toBeUndefined();
      expect(loadConfig({ ORIGIN_SECRET: secret }, noLinks).originSecret).toBe(secret);
      const linked = `${secret}-linked`;
      expect(
        loadConfig({ ORIGIN_SECRET: secret }, { OriginSecret: { value: linked } }).originSecret,
      ).toBe(linked);
      const short = problems({ ORIGIN_SECRET: "too-short-a-secret" });
      expect(short).toContain("ORIGIN_SECRET: expected at least 32 characters (got 18 characters)");
      expect(short).not.toContain("too-short-a-secret");
      expect(problems({}, { OriginSecret: { value: "short" } })).toContain(
        "Resource.OriginSecret: expected a value of at least 32 characters",
      );
    });

    it("HOST: loopback by default, every interface only behind the origin secret, else as set", () => {
      expect(loadConfig({}, noLinks).host).toBe("127.0.0.1");
      expect(loadConfig({ ORIGIN_SECRET: secret }, noLinks).host).toBe("0.0.0.0");
      expect(loadConfig({ HOST: "::1" }, noLinks).host).toBe("::1");
      expect(loadConfig({ HOST: "127.0.0.1", ORIGIN_SECRET: secret }, noLinks).host).toBe(
        "127.0.0.1",
      );
    });

    // X-Forwarded-For is no longer read: a leftover TRUSTED_PROXIES would be silently ignored.
    it("TRUSTED_PROXIES, no longer read, is an error naming it", () => {
      expect(problems({ TRUSTED_PROXIES: "2" })).toContain("TRUSTED_PROXIES: no longer read;");
    });
  });

  it("rejects a Database link without the fields it needs", () => {
    expect(problems({}, { Database: { host: "db" } })).toContain(
      "Resource.Database: expected host, port, username, password and database",
    );
  });

  describe("the database connections (TLS, roles)", () => {
    const link = (username: string, host = "db.internal") => ({
      host,
      port: 5432,
      username,
      password: `${username}-pw`,
      database: "slipway",
    });
    const userOf = (settings: { kind: string; url?: string }) =>
      settings.kind === "postgres" ? new URL(settings.url ?? "").username : settings.kind;

    it("DATABASE_SSL is off by default, takes off, rds, verify and require, and names anything else", () => {
      const url = "postgres://u:p@db:5432/app";
      expect(loadConfig({ DATABASE_URL: url }, noLinks).database).toMatchObject({ ssl: "off" });
      for (const mode of ["off", "rds", "verify", "require"]) {
        const settings = loadConfig({ DATABASE_URL: url, DATABASE_SSL: mode }, noLinks);
        expect(settings.database).toMatchObject({ ssl: mode });
        expect(settings.ownerDatabase).toMatchObject({ ssl: mode });
      }
      expect(problems({ DATABASE_URL: url, DATABASE_SSL: "true" })).toMatch(
        /DATABASE_SSL: .*"off".*"rds".*"verify".*"require".*\(got "true"\)/,
      );
    });

    it("DATABASE_SSL=require (TLS without verification) is refused on a deployed stage, naming it; offline it is allowed", () => {
      // Fails without the check: a deployed task would accept any certificate (a MITM) quietly.
      const url = "postgres://u:p@db:5432/app";
      const deployed = { App: { name: "slipway", stage: "production" } };
      expect(problems({ DATABASE_URL: url, DATABASE_SSL: "require" }, deployed)).toMatch(
        /DATABASE_SSL: require does not verify the server's certificate.*deployed/,
      );
      for (const mode of ["rds", "verify", "off"]) {
        expect(
          loadConfig({ DATABASE_URL: url, DATABASE_SSL: mode }, deployed).database,
        ).toMatchObject({ ssl: mode });
      }
      expect(loadConfig({ DATABASE_URL: url, DATABASE_SSL: "require" }, noLinks).deployed).toBe(
        false,
      );
    });

    it("a DATABASE_URL whose sslmode disagrees with DATABASE_SSL is an error naming both", () => {
      const url = (query: string) => `postgres://u:p@db:5432/app?${query}`;
      expect(problems({ DATABASE_URL: url("sslmode=require") })).toContain(
        "DATABASE_URL: sslmode=require disagrees with DATABASE_SSL=off",
      );
      expect(problems({ DATABASE_URL: url("sslmode=disable"), DATABASE_SSL: "rds" })).toContain(
        "DATABASE_URL: sslmode=disable disagrees with DATABASE_SSL=rds",
      );
      // prefer/allow fall back to plain text: no mode agrees with them.
      for (const mode of ["off", "rds", "verify", "require"]) {
        expect(problems({ DATABASE_URL: url("sslmode=prefer"), DATABASE_SSL: mode })).toContain(
          `sslmode=prefer disagrees with DATABASE_SSL=${mode}`,
        );
      }
      expect(problems({ DATABASE_URL: url("ssl=true"), DATABASE_SSL: "require" })).toContain(
        "ssl=true disagrees with DATABASE_SSL=require",
      );
      expect(
        problems({ DATABASE_URL: url("sslrootcert=/etc/ca.pem"), DATABASE_SSL: "verify" }),
      ).toContain("sslrootcert=/etc/ca.pem disagrees with DATABASE_SSL=verify");
      // Agreeing ones are fine (DATABASE_SSL decides; the URL's parameter only restates it).
      for (const [query, mode] of [
        ["sslmode=require", "require"],
        ["sslmode=verify-full", "verify"],
        ["sslmode=verify-full", "rds"],
        ["sslmode=disable", "off"],
      ] as const) {
        const settings = loadConfig({ DATABASE_URL: url(query), DATABASE_SSL: mode }, noLinks);
        expect(settings.database).toMatchObject({ ssl: mode });
      }
    });

    it("the app connects as AppDatabase over Database over DATABASE_URL; the migrator as the owner", () => {
      const env = { DATABASE_URL: "postgres://env:pw@db:5432/app", DATABASE_SSL: "rds" };
      const both = loadConfig(env, {
        Database: link("owner"),
        AppDatabase: link("slipway_app"),
      });
      expect(userOf(both.database)).toBe("slipway_app");
      expect(userOf(both.ownerDatabase)).toBe("owner");
      expect(both.appRole).toEqual({ username: "slipway_app", password: "slipway_app-pw" });
      expect(both.database).toMatchObject({ ssl: "rds" });

      const owner = loadConfig(env, { Database: link("owner") });
      expect(userOf(owner.database)).toBe("owner");
      expect(owner.appRole).toBeUndefined();
      // The worker links only its own role.
      const worker = loadConfig(env, { AppDatabase: link("slipway_app") });
      expect(userOf(worker.database)).toBe("slipway_app");
      expect(userOf(worker.ownerDatabase)).toBe("env");
      expect(worker.deployed).toBe(true);
      const offline = loadConfig(env, noLinks);
      expect([userOf(offline.database), userOf(offline.ownerDatabase)]).toEqual(["env", "env"]);
      const none = loadConfig({}, noLinks);
      expect([userOf(none.database), userOf(none.ownerDatabase)]).toEqual(["pglite", "pglite"]);
    });

    it("the API, with its DATABASE_URL a secret and no database link, is still a deployed stage", () => {
      const api = loadConfig(
        { DATABASE_URL: "postgres://slipway_app:pw@db:5432/app", DATABASE_SSL: "rds" },
        { App: { name: "slipway", stage: "production" } },
      );
      expect(api.deployed).toBe(true);
      expect(api.migrateOnBoot).toBe(false);
      expect(api.session.secureCookie).toBe(true);
    });

    it("the reader (ADR 034): DATABASE_READER_URL read-only with the primary's pool size and TLS; without it the primary deployed, its read-only mirror offline", () => {
      const app = { App: { name: "slipway", stage: "production" } };
      const primary = "postgres://slipway_app:pw@db:5432/app";
      const replica = loadConfig(
        {
          DATABASE_URL: primary,
          DATABASE_READER_URL: "postgres://slipway_app:pw@replica:5432/app",
          DATABASE_SSL: "rds",
        },
        app,
      );
      expect(replica.readerDatabase).toMatchObject({
        kind: "postgres",
        url: "postgres://slipway_app:pw@replica:5432/app",
        poolMax: 5,
        ssl: "rds",
        readOnly: true,
      });
      expect(loadConfig({ DATABASE_URL: primary }, app).readerDatabase).toEqual({
        kind: "primary",
      });
      expect(loadConfig({ DATABASE_URL: primary }, noLinks).readerDatabase).toEqual({
        kind: "mirror",
      });
      expect(loadConfig({}, noLinks).readerDatabase).toEqual({ kind: "mirror" });
      // DATABASE_READER chooses between the two without a replica, either way round.
      const choose = (reader: string, links: typeof app | typeof noLinks) =>
        loadConfig({ DATABASE_URL: primary, DATABASE_READER: reader }, links).readerDatabase;
      expect(choose("primary", noLinks)).toEqual({ kind: "primary" });
      expect(choose("mirror", app)).toEqual({ kind: "mirror" });
    });

    it("DATABASE_READER: only mirror or primary, and not beside DATABASE_READER_URL", () => {
      expect(problems({ DATABASE_READER: "replica" })).toContain("DATABASE_READER");
      expect(
        problems({
          DATABASE_URL: "postgres://u@db/app",
          DATABASE_READER_URL: "postgres://u@replica/app",
          DATABASE_READER: "primary",
        }),
      ).toContain(
        "DATABASE_READER=primary: the reader is DATABASE_READER_URL's replica; set one of the two",
      );
    });

    it("DATABASE_READER_URL: not a postgres URL, without DATABASE_URL, or against DATABASE_SSL is an error naming it", () => {
      expect(
        problems({ DATABASE_URL: "postgres://u@db/app", DATABASE_READER_URL: "mysql://r/app" }),
      ).toContain(
        'DATABASE_READER_URL: expected a postgres:// or postgresql:// URL (got "mysql://r/app")',
      );
      expect(problems({ DATABASE_READER_URL: "postgres://u@replica/app" })).toContain(
        "DATABASE_READER_URL: a replica of what?",
      );
      expect(
        problems({
          DATABASE_URL: "postgres://u@db/app",
          DATABASE_READER_URL: "postgres://u@replica/app?sslmode=disable",
          DATABASE_SSL: "rds",
        }),
      ).toContain("DATABASE_READER_URL: sslmode=disable disagrees with DATABASE_SSL=rds");
    });

    it("rejects an AppDatabase link without the fields it needs", () => {
      expect(problems({}, { AppDatabase: { host: "db", username: "slipway_app" } })).toContain(
        "Resource.AppDatabase: expected host, port, username, password and database",
      );
    });
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
