import { createHash } from "node:crypto";
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import path from "node:path";
import type { Database } from "./client";

/**
 * Initialised PGlite data directories, made once per machine and kept (ADR 023). initdb costs
 * 2-3 s on a quiet 2-core machine (10-25 s under load), and every fresh database paid it: the
 * dev server on a fresh clone, every test file, every `freshDatabase()`. A template is a PGlite
 * `dumpDataDir` tar, either just initialised (`empty`) or with a migrations folder applied by
 * the one migrator, keyed by the PGlite version and the migrations' tags and hashes, so a new
 * migration or another PGlite makes a new one and never reuses an old one.
 *
 * A template is read-only input: every database is a copy of it (in memory, or extracted into
 * its own directory), so two servers never share one. Written to a temp name and renamed, so no
 * reader sees half of one; a header carries the tar's length and sha256, checked on read, and a
 * template that fails the check is deleted and built again.
 */

const FORMAT = "slipway-pglite-template 1";
/**
 * initdb's options beyond PGlite's: WAL segments of 1 MB instead of 16. A data directory holds at
 * least one whole segment, mostly zeros, that every start copies: 16 MB of a 41 MB template.
 * In the names, so no template made otherwise is reused.
 */
const INITDB = ["--wal-segsize=1"];
/**
 * Every template's shared_buffers (postgresql.auto.conf), instead of initdb's 128 MB: Postgres
 * zero-fills them in WebAssembly memory at every start (~0.1 s of CPU), and the databases made
 * from templates are small (a test's few hundred kB, a developer's notes); the dev API then also
 * holds ~110 MB less memory.
 */
export const SHARED_BUFFERS = "16MB";
const LAYOUT = `w1-sb${SHARED_BUFFERS}`;
/**
 * Migrated templates kept per PGlite version: one per migrations state in use on this machine,
 * full and slim.
 */
const KEEP_MIGRATED = 8;

export interface TemplateSpec {
  /** A migrations folder to apply; omitted: an empty, just-initialised database. */
  migrationsDir?: string;
  /** Where templates live (tests pass their own); default `$XDG_CACHE_HOME/slipway` or `~/.cache/slipway`. */
  cacheDir?: string;
  /** Check the length and sha256 (default true). */
  verify?: boolean;
  /**
   * Without template0 and template1, the databases only CREATE DATABASE reads: ~40% fewer bytes
   * and files to load, ~0.15 s less CPU a start. For test databases, which never create one (a
   * test that needs another database opens another PGlite); the dev server keeps them.
   */
  slim?: boolean;
}

export interface Template {
  /** The PGlite tar: `loadDataDir` for an in-memory database, `extractTemplate` for a directory. */
  tar: Buffer;
  file: string;
  /** "cached": read from the file; "built": made now (and stored, when the cache is writable). */
  source: "cached" | "built";
}

/** The machine's cache: shared by every clone of the app, as initdb's output depends on none of them. */
export function templateCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(homedir(), ".cache");
  return path.join(base, "slipway");
}

let version: string | undefined;
export function pgliteVersion(): string {
  if (version) return version;
  // Its package.json is not exported: found from the entry point, upwards.
  let dir = path.dirname(createRequire(import.meta.url).resolve("@electric-sql/pglite"));
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
      if (manifest.name === "@electric-sql/pglite") {
        version = String(manifest.version);
        return version;
      }
    } catch {
      // No package.json at this level (dist/): one up.
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("cannot find @electric-sql/pglite's version");
    dir = parent;
  }
}

/** What every current template's name starts with: this PGlite, this initdb. */
const prefix = () => `pglite-${pgliteVersion()}-${LAYOUT}-`;

/** The template's file: the PGlite version, and for a migrated one the migrations' identity. */
export async function templateFile(spec: TemplateSpec = {}): Promise<string> {
  const dir = spec.cacheDir ?? templateCacheDir();
  const shape = spec.slim ? "-slim" : "";
  if (!spec.migrationsDir) return path.join(dir, `${prefix()}empty${shape}.template`);
  const { readMigrations } = await import("./migrator");
  // What the migrator records per migration: a new, edited or reordered one is another template.
  const identity = readMigrations(spec.migrationsDir).map((m) => [m.tag, m.createdAt, m.hash]);
  const hash = createHash("sha256").update(JSON.stringify(identity)).digest("hex").slice(0, 20);
  return path.join(dir, `${prefix()}m${hash}${shape}.template`);
}

export class TemplateCorrupt extends Error {
  override name = "TemplateCorrupt";
}

/** The tar stored in `file`, checked against its header; TemplateCorrupt if it does not match. */
export function readTemplate(file: string, verify = true): Buffer {
  const bytes = readFileSync(file);
  const end = bytes.indexOf(0x0a);
  const [format, sha256, length] =
    end > 0 ? bytes.subarray(0, end).toString("latin1").split("\t") : [];
  const tar = bytes.subarray(end + 1);
  if (format !== FORMAT) throw new TemplateCorrupt(`${file}: not a template (no header)`);
  if (Number(length) !== tar.length) {
    throw new TemplateCorrupt(`${file}: ${tar.length} bytes, the header says ${length}`);
  }
  if (verify && createHash("sha256").update(tar).digest("hex") !== sha256) {
    throw new TemplateCorrupt(`${file}: its sha256 does not match the header`);
  }
  return tar;
}

/** Writes `tar` as a template, atomically (temp file, then rename over any other). */
export function writeTemplate(file: string, tar: Buffer) {
  mkdirSync(path.dirname(file), { recursive: true });
  const sha256 = createHash("sha256").update(tar).digest("hex");
  const temp = `${file}.tmp-${process.pid}`;
  const fd = openSync(temp, "w");
  try {
    writeSync(fd, `${FORMAT}\t${sha256}\t${tar.length}\n`);
    writeSync(fd, tar);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
}

const building = new Map<string, Promise<Template>>();

/**
 * The template for `spec`: read from the cache, or built (initdb in memory, then the migrations)
 * and stored. A corrupt one is deleted and built again; a cache that cannot be written only
 * costs the next process the build.
 */
export async function pgliteTemplate(spec: TemplateSpec = {}): Promise<Template> {
  const file = await templateFile(spec);
  let pending = building.get(file);
  if (!pending) {
    pending = obtain(file, spec);
    building.set(file, pending);
    // A failed build is not remembered: the next call tries again.
    pending.catch(() => building.delete(file));
  }
  return pending;
}

/** A template's tar as PGlite's `loadDataDir` takes it. */
export function templateBlob(tar: Buffer): Blob {
  // Read from a file, so backed by an ArrayBuffer (never a SharedArrayBuffer), as Blob needs.
  return new Blob([tar as Uint8Array<ArrayBuffer>]);
}

/** Drops this process's memory of `file`'s template, so the next call reads or builds it anew. */
export function forgetTemplate(file: string) {
  building.delete(file);
}

async function obtain(file: string, spec: TemplateSpec): Promise<Template> {
  try {
    const tar = readTemplate(file, spec.verify ?? true);
    // Its age says it is in use, for pruning (below).
    touch(file);
    return { tar, file, source: "cached" };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!(error instanceof TemplateCorrupt) && code !== "ENOENT") throw error;
    if (error instanceof TemplateCorrupt) {
      process.stderr.write(`${error.message}; building it again\n`);
      rmSync(file, { force: true });
    }
  }
  const tar = await build(spec);
  try {
    writeTemplate(file, tar);
    prune(path.dirname(file));
  } catch (error) {
    // A read-only cache (a sandboxed CI, a full disk): the template still serves this process.
    process.stderr.write(`could not store the PGlite template in ${file}: ${String(error)}\n`);
  }
  return { tar, file, source: "built" };
}

async function build(spec: TemplateSpec): Promise<Buffer> {
  const { PGlite } = await import("@electric-sql/pglite");
  // Each kind starts from the one below it, so initdb runs once per PGlite version: a slim
  // template from the full one of its state, a migrated one from the empty one.
  const from = spec.slim
    ? { ...spec, slim: false }
    : spec.migrationsDir
      ? { cacheDir: spec.cacheDir, verify: spec.verify }
      : undefined;
  const base = from ? (await pgliteTemplate(from)).tar : undefined;
  const pg = await PGlite.create(
    "memory://",
    base ? { loadDataDir: templateBlob(base) } : { initDbStartParams: INITDB },
  );
  try {
    if (!base) {
      // The empty template's setting; the others start from it.
      await pg.exec(`alter system set shared_buffers = '${SHARED_BUFFERS}'`);
    } else if (spec.slim) {
      await pg.exec(
        "alter database template0 is_template false; alter database template1 is_template false",
      );
      // One statement each: DROP DATABASE cannot run in the transaction a batch is.
      await pg.exec("drop database template0");
      await pg.exec("drop database template1");
    } else if (spec.migrationsDir) {
      const [{ drizzle }, { migrate }] = await Promise.all([
        import("drizzle-orm/pglite"),
        import("./migrator"),
      ]);
      await migrate(drizzle(pg, { casing: "snake_case" }) as Database, spec.migrationsDir);
    }
    // Every page on disk: the dump then needs no recovery from the WAL.
    await pg.exec("checkpoint");
    const dump = await pg.dumpDataDir("none");
    return Buffer.from(await dump.arrayBuffer());
  } finally {
    await pg.close();
  }
}

function touch(file: string) {
  try {
    const now = new Date();
    utimesSync(file, now, now);
  } catch {
    // Read-only cache: pruning then goes by creation time.
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
};

/**
 * Keeps the cache small: templates of other PGlite versions go, and of this version's migrated
 * ones the KEEP_MIGRATED used last stay. Temp files of builders that died go too.
 */
function prune(dir: string) {
  const current = prefix();
  const migrated: { file: string; used: number }[] = [];
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    const temp = /\.template\.tmp-(\d+)$/.exec(name);
    if (temp) {
      if (!alive(Number(temp[1]))) rmSync(file, { force: true });
      continue;
    }
    if (!name.startsWith("pglite-") || !name.endsWith(".template")) continue;
    if (!name.startsWith(current)) rmSync(file, { force: true });
    else if (!/-empty(-slim)?\.template$/.test(name)) {
      migrated.push({ file, used: statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0 });
    }
  }
  migrated.sort((a, b) => b.used - a.used);
  for (const { file } of migrated.slice(KEEP_MIGRATED)) rmSync(file, { force: true });
}

/**
 * Makes `dataDir` a PGlite data directory holding `tar`: extracted beside it, then renamed into
 * place, so a crash midway leaves no half database where PGlite would resume one. `dataDir` must
 * not exist (or be empty). Plain file writes: 2-3x faster than PGlite's own `loadDataDir` into a
 * directory, which writes each file through its emscripten file system.
 */
export function extractTemplate(tar: Buffer, dataDir: string) {
  const target = path.resolve(dataDir);
  const temp = `${target}.loading-${process.pid}`;
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp, { recursive: true, mode: 0o700 });
  try {
    for (let offset = 0; offset + 512 <= tar.length; ) {
      const header = tar.subarray(offset, offset + 512);
      if (header[0] === 0) break; // the end-of-archive blocks
      const name = cString(header.subarray(0, 100));
      const prefix = cString(header.subarray(345, 500));
      const mode = Number.parseInt(cString(header.subarray(100, 108)), 8) || 0o600;
      const size = Number.parseInt(cString(header.subarray(124, 136)), 8) || 0;
      const type = String.fromCharCode(header[156] ?? 0);
      const relative = path.posix.normalize(path.posix.join("/", prefix, name));
      // The tar is ours, but a name must still stay inside the directory.
      if (relative === "/" || relative.includes("\0"))
        throw new TemplateCorrupt(`bad name ${name}`);
      const out = path.join(temp, relative);
      if (type === "5") mkdirSync(out, { recursive: true, mode });
      else if (type === "0" || type === "\0") {
        mkdirSync(path.dirname(out), { recursive: true, mode: 0o700 });
        writeFileSync(out, tar.subarray(offset + 512, offset + 512 + size), { mode });
      } else throw new TemplateCorrupt(`unexpected tar entry type ${type} for ${name}`);
      offset += 512 + Math.ceil(size / 512) * 512;
    }
    // An empty directory (made by hand, or by an earlier start) is replaced; a non-empty one is
    // refused (ENOTEMPTY): it is not ours to overwrite.
    try {
      rmdirSync(target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    renameSync(temp, target);
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    throw error;
  }
}

const cString = (bytes: Uint8Array) => {
  const end = bytes.indexOf(0);
  return Buffer.from(end < 0 ? bytes : bytes.subarray(0, end))
    .toString("latin1")
    .trim();
};
