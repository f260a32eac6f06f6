import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { onTestFinished, vi } from "vitest";
import { DEFAULT_TIMEOUTS, repoRoot } from "../src/config";
import { type DatabaseHandle, openDatabase } from "../src/db/client";
import { rollback } from "../src/db/transaction";

export const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");
export const fixtureMigrations = (name: string) => path.join(fixtures, "migrations", name);

const pgliteVersion = (
  JSON.parse(
    readFileSync(path.join(repoRoot, "node_modules/@electric-sql/pglite/package.json"), "utf8"),
  ) as { version: string }
).version;
const templateFile = path.join(
  repoRoot,
  "node_modules",
  ".cache",
  "slipway",
  `pglite-${pgliteVersion}.tar`,
);
let template: Promise<Blob> | undefined;

/**
 * An empty PGlite data directory, made once and kept on disk: initdb costs ~2 s, starting from
 * the snapshot ~0.5 s. Written to a temp name then renamed, so parallel workers never read half.
 */
function pgliteTemplate(): Promise<Blob> {
  template ??= (async () => {
    if (existsSync(templateFile)) return new Blob([readFileSync(templateFile)]);
    const { PGlite } = await import("@electric-sql/pglite");
    const scratch = await PGlite.create("memory://");
    const dump = await scratch.dumpDataDir("none");
    await scratch.close();
    mkdirSync(path.dirname(templateFile), { recursive: true });
    const partial = `${templateFile}.${process.pid}`;
    writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
    renameSync(partial, templateFile);
    return dump;
  })();
  return template;
}

/** An empty in-memory PGlite database, started from the template. */
export async function openPglite(): Promise<DatabaseHandle> {
  return openDatabase({ kind: "pglite", dataDir: "memory://" }, await pgliteTemplate());
}

export interface FreshDatabase {
  /** A new, empty database: PGlite in memory, or a new database on TEST_DATABASE_URL's server. */
  handle: DatabaseHandle;
  /** Settings that point a fresh app instance at it (see `bootApp`). */
  env: Record<string, string>;
  /** Another connection to it (PGlite has a single connection, so it returns the same one). */
  connect(): Promise<DatabaseHandle>;
}

/** A database of its own for a test that must commit or must start empty; dropped afterwards. */
export async function freshDatabase(): Promise<FreshDatabase> {
  const server = process.env.TEST_DATABASE_URL;
  if (!server) {
    const handle = await openPglite();
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
  return { handle: await connect(), env: { DATABASE_URL: url.toString() }, connect };
}

/**
 * Imports the app anew, as a new process would, with `env` on top of the test environment:
 * its own config and its own database (`database`, else one opened from that config).
 * Undone when the test finishes.
 */
export async function bootApp(env: Record<string, string>, database?: DatabaseHandle) {
  vi.resetModules();
  for (const [key, value] of Object.entries(env)) vi.stubEnv(key, value);
  const [{ app }, client, migrator, config] = await Promise.all([
    import("../src/api"),
    import("../src/db/client"),
    import("../src/db/migrator"),
    import("../src/config"),
  ]);
  if (database) client.setDatabase(Promise.resolve(database));
  onTestFinished(async () => {
    // A database passed in belongs to its creator; one opened from the env is closed here.
    if (!database) await client.closeDatabase();
    vi.unstubAllEnvs();
  });
  return { app, client, migrator, config: config.config() };
}

/**
 * `rollback` for test callbacks that must return void (`it.each`). Imported statically, so it
 * stays bound to the test file's module graph even after a `bootApp` in the same file.
 */
export async function isolated(fn: () => Promise<void>): Promise<void> {
  await rollback(fn);
}
