import { randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { inject, onTestFinished, vi } from "vitest";
import { config, DEFAULT_TIMEOUTS } from "../src/config";
import { unguarded } from "../src/db/availability";
import { type DatabaseHandle, openDatabase } from "../src/db/client";
import { pgliteTemplate, type TemplateSpec, templateBlob } from "../src/db/pglite-template";
import { rollback } from "../src/db/transaction";
import { watchResponses } from "./contract";

export const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");
export const fixtureMigrations = (name: string) => path.join(fixtures, "migrations", name);

declare module "vitest" {
  export interface ProvidedContext {
    /** The run's global setup (test/global-setup.ts) checked both templates' checksums. */
    pgliteTemplatesChecked: boolean;
  }
}

const blobs = new Map<string, Promise<Blob>>();

/**
 * A PGlite data directory as a Blob for `loadDataDir`: initdb costs 2-3 s (10-25 s on a loaded
 * machine), starting from the snapshot a fraction of it. The templates are made once per
 * machine (db/pglite-template.ts), checked by the run's global setup; kept per process here.
 */
function template(spec: TemplateSpec): Promise<Blob> {
  const key = spec.migrationsDir ?? "";
  let blob = blobs.get(key);
  if (!blob) {
    // Checked once per run already (40 MB of sha256 per test file otherwise); alone, here.
    const verify = !safeInject("pgliteTemplatesChecked");
    // Slim: no test creates a database (db/pglite-template.ts), and each start loads less.
    blob = pgliteTemplate({ ...spec, verify, slim: true }).then((t) => templateBlob(t.tar));
    blobs.set(key, blob);
  }
  return blob;
}

/** `inject` outside a vitest run with the global setup (a script importing this) is no value. */
function safeInject(key: "pgliteTemplatesChecked"): boolean {
  try {
    return inject(key) === true;
  } catch {
    return false;
  }
}

/** The empty template, for a test that starts PGlite itself (`PGlite.create(…, { loadDataDir })`). */
export const emptyPgliteTemplate = () => template({});

/** An empty in-memory PGlite database, started from the template. */
export async function openPglite(): Promise<DatabaseHandle> {
  return openDatabase({ kind: "pglite", dataDir: "memory://" }, await template({}));
}

/** An in-memory PGlite database with the app's migrations applied, from its template. */
export async function openMigratedPglite(): Promise<DatabaseHandle> {
  return openDatabase(
    { kind: "pglite", dataDir: "memory://" },
    await template({ migrationsDir: config().migrationsDir }),
  );
}

export interface Deferred {
  /** Opens the database on the first `await` (or `then`), once. */
  handle: Promise<DatabaseHandle>;
  /**
   * From now on, if it was never opened, it resolves to a database with nothing to close
   * (`closeDatabase` awaits it: closing must not open it).
   */
  retire(): void;
}

/**
 * A database opened on first use, in place of a promise of one (`setDatabase`): a test file
 * that never queries never pays for a PGlite (~1 s and 40 MB each).
 */
export function openOnFirstUse(open: () => Promise<DatabaseHandle>): Deferred {
  let opened: Promise<DatabaseHandle> | undefined;
  let retired = false;
  const start = () => {
    opened ??= retired ? Promise.resolve(unopened) : open();
    return opened;
  };
  const handle = {
    // biome-ignore lint/suspicious/noThenProperty: a promise that starts its work when awaited
    then: (onFulfilled, onRejected) => start().then(onFulfilled, onRejected),
    catch: (onRejected) => start().catch(onRejected),
    finally: (onFinally) => start().finally(onFinally),
    [Symbol.toStringTag]: "Promise",
  } as Promise<DatabaseHandle>;
  return {
    handle,
    retire: () => {
      retired = true;
    },
  };
}

/** What a deferred database that was never opened is closed as: nothing to close. */
const unopened: DatabaseHandle = {
  get db(): never {
    throw new Error("this database was never opened");
  },
  close: async () => {},
  guard: unguarded,
};

export interface FreshDatabase {
  /** A new, empty database: PGlite in memory, or a new database on TEST_DATABASE_URL's server. */
  handle: DatabaseHandle;
  /** Settings that point a fresh app instance at it (see `bootApp`). */
  env: Record<string, string>;
  /** Another connection to it (PGlite has a single connection, so it returns the same one). */
  connect(): Promise<DatabaseHandle>;
}

/**
 * A database of its own for a test that must commit or must start empty (or, `migrated`, start
 * migrated); dropped afterwards.
 */
export async function freshDatabase(
  options: {
    /**
     * With the app's migrations applied, for a test that migrates it first thing anyway (its
     * migrate then finds nothing to do): on PGlite started from the migrated template, ~0.5 s
     * less a database on this machine.
     */
    migrated?: boolean;
  } = {},
): Promise<FreshDatabase> {
  const server = process.env.TEST_DATABASE_URL;
  if (!server) {
    const handle = await (options.migrated ? openMigratedPglite() : openPglite());
    onTestFinished(() => handle.close());
    return { handle, env: {}, connect: async () => handle };
  }

  const name = `slipway_test_${randomBytes(6).toString("hex")}`;
  const admin = postgres(server, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(server);
  url.pathname = `/${name}`;
  const handles: DatabaseHandle[] = [];
  const connect = async () => {
    const handle = await openDatabase({
      kind: "postgres",
      url: url.toString(),
      poolMax: 2,
      timeouts: DEFAULT_TIMEOUTS,
    });
    handles.push(handle);
    return handle;
  };
  onTestFinished(async () => {
    await Promise.all(handles.map((handle) => handle.close()));
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  });
  const handle = await connect();
  if (options.migrated) {
    const { migrate } = await import("../src/db/migrator");
    await migrate(handle.db, config().migrationsDir);
  }
  return { handle, env: { DATABASE_URL: url.toString() }, connect };
}

/**
 * Imports the app anew, as a new process would, with `env` on top of the test environment:
 * its own config and its own database (`database`, else one opened from that config).
 * Undone when the test finishes.
 */
export async function bootApp(env: Record<string, string>, database?: DatabaseHandle) {
  vi.resetModules();
  for (const [key, value] of Object.entries(env)) vi.stubEnv(key, value);
  const [{ app, site, openAPIDocument }, client, migrator, config] = await Promise.all([
    import("../src/api"),
    import("../src/db/client"),
    import("../src/db/migrator"),
    import("../src/config"),
  ]);
  if (database) client.setDatabase(Promise.resolve(database));
  // Its responses are held to the OpenAPI document too (test/contract.ts).
  watchResponses(app, openAPIDocument);
  watchResponses(site, openAPIDocument);
  let deferred: Deferred | undefined;
  onTestFinished(async () => {
    // A database passed in belongs to its creator; one opened from the env is closed here.
    deferred?.retire();
    if (!database) await client.closeDatabase();
    vi.unstubAllEnvs();
  });
  const settings = config.config();
  if (
    !database &&
    settings.database.kind === "pglite" &&
    settings.database.dataDir === "memory://"
  ) {
    // What the app would open from this config, an empty in-memory PGlite, from the template
    // instead of initdb, and only once the test uses it.
    const { database: where } = settings;
    deferred = openOnFirstUse(async () => client.openDatabase(where, await template({})));
    client.setDatabase(deferred.handle);
  }
  return { app, client, migrator, config: settings };
}

/**
 * `rollback` for test callbacks that must return void (`it.each`). Imported statically, so it
 * stays bound to the test file's module graph even after a `bootApp` in the same file.
 */
export async function isolated(fn: () => Promise<void>): Promise<void> {
  await rollback(fn);
}
