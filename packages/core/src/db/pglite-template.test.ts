import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import postgres from "postgres";
import { describe, expect, it, onTestFinished } from "vitest";
import { fixtureMigrations } from "../../test/database";
import { ownEmbedded } from "./embedded";
import {
  extractTemplate,
  pgliteTemplate,
  readTemplate,
  SHARED_BUFFERS,
  TemplateCorrupt,
  templateBlob,
  templateFile,
  writeTemplate,
} from "./pglite-template";

/**
 * The PGlite templates fresh databases start from (ADR 023): keyed so that another migrations
 * state never reuses one, checked so that a corrupt one is found and rebuilt, and copied, so that
 * two servers started from one never share their files.
 */

function scratch() {
  const dir = mkdtempSync(path.join(tmpdir(), "slipway-template-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A cache holding the machine's empty template (initdb once per machine, not per test). */
async function cacheWithEmpty() {
  const cacheDir = path.join(scratch(), "cache");
  mkdirSync(cacheDir);
  const machine = await pgliteTemplate({});
  copyFileSync(machine.file, await templateFile({ cacheDir }));
  return cacheDir;
}

/** A copy of a fixture migrations folder that a test may add to. */
function migrationsCopy(name: string) {
  const dir = path.join(scratch(), name);
  cpSync(fixtureMigrations(name), dir, { recursive: true });
  return dir;
}

// Each test builds templates the way a first start does (initdb, the migrations, a tar): 5-20 s
// on this machine, more when it is loaded, against the 20 s meant for in-process tests.
describe("PGlite templates", { timeout: 60_000 }, () => {
  it("are keyed by the migrations: another folder, or one more migration, is another template", async () => {
    const cacheDir = scratch();
    const ok = migrationsCopy("ok");
    const first = await templateFile({ cacheDir, migrationsDir: ok });
    expect(await templateFile({ cacheDir, migrationsDir: ok })).toBe(first);
    expect(await templateFile({ cacheDir, migrationsDir: fixtureMigrations("failing") })).not.toBe(
      first,
    );
    expect(await templateFile({ cacheDir })).not.toBe(first);

    // One more migration in the journal: a new key (an old template would lack its tables).
    const journalFile = path.join(ok, "meta", "_journal.json");
    const journal = JSON.parse(readFileSync(journalFile, "utf8"));
    const last = journal.entries.at(-1);
    journal.entries.push({ ...last, idx: last.idx + 1, when: last.when + 1, tag: "0002_more" });
    writeFileSync(journalFile, JSON.stringify(journal));
    writeFileSync(path.join(ok, "0002_more.sql"), "create table more (id int);");
    expect(await templateFile({ cacheDir, migrationsDir: ok })).not.toBe(first);
  });

  it("a migrated template holds the migrations applied, and is reused from the cache", async () => {
    const cacheDir = await cacheWithEmpty();
    const migrationsDir = migrationsCopy("ok");
    const built = await pgliteTemplate({ cacheDir, migrationsDir });
    expect(built.source).toBe("built");
    expect(existsSync(built.file)).toBe(true);

    const { PGlite } = await import("@electric-sql/pglite");
    const db = await PGlite.create("memory://", { loadDataDir: templateBlob(built.tar) });
    onTestFinished(() => db.close());
    const applied = await db.query<{ n: number }>(
      "select count(*)::int as n from drizzle.__drizzle_migrations",
    );
    expect(applied.rows[0]?.n).toBe(2);
    // The fixture's table exists: the migrations ran, not just their bookkeeping.
    await db.query("select * from counter");
    // The empty template's setting, carried into the migrated one (and the dev server's data).
    const buffers = await db.query<{ shared_buffers: string }>("show shared_buffers");
    expect(buffers.rows[0]?.shared_buffers).toBe(SHARED_BUFFERS);

    // A second process reads the file (the module keeps one per process: forget it by path).
    expect(readTemplate(built.file).equals(built.tar)).toBe(true);
  });

  it("a slim template is the migrated one less template0 and template1: smaller, a file of its own, with the templates' shared buffers", async () => {
    const cacheDir = await cacheWithEmpty();
    const migrationsDir = migrationsCopy("ok");
    const full = await pgliteTemplate({ cacheDir, migrationsDir });
    const slim = await pgliteTemplate({ cacheDir, migrationsDir, slim: true });
    expect(slim.source).toBe("built");
    expect(slim.file).not.toBe(full.file);
    expect(existsSync(slim.file) && existsSync(full.file)).toBe(true);
    expect(slim.tar.length).toBeLessThan(full.tar.length * 0.75);

    const { PGlite } = await import("@electric-sql/pglite");
    const db = await PGlite.create("memory://", { loadDataDir: templateBlob(slim.tar) });
    onTestFinished(() => db.close());
    const databases = await db.query<{ datname: string }>("select datname from pg_database");
    expect(databases.rows.map((row) => row.datname)).toEqual(["postgres"]);
    const buffers = await db.query<{ shared_buffers: string }>("show shared_buffers");
    expect(buffers.rows[0]?.shared_buffers).toBe(SHARED_BUFFERS);
    // The migrated state is all there, and writable.
    await db.query("insert into counter (migration) values ($1)", ["slim"]);
    const applied = await db.query<{ n: number }>(
      "select count(*)::int as n from drizzle.__drizzle_migrations",
    );
    expect(applied.rows[0]?.n).toBe(2);
  });

  it("a template whose bytes changed is refused, deleted and built again", async () => {
    const cacheDir = await cacheWithEmpty();
    const migrationsDir = migrationsCopy("ok");
    const file = await templateFile({ cacheDir, migrationsDir });
    // A good template, then one flipped byte in its tar (a bad disk, a half-copied cache). The
    // machine's empty one stands in for the good bytes: an initdb of its own cost ~3 CPU-s.
    const good = Buffer.from((await pgliteTemplate({})).tar);
    writeTemplate(file, good);
    expect(readTemplate(file).equals(good)).toBe(true);
    const bytes = readFileSync(file);
    bytes[bytes.length - 5000] = (bytes[bytes.length - 5000] ?? 0) ^ 0xff;
    writeFileSync(file, bytes);
    expect(() => readTemplate(file)).toThrow(TemplateCorrupt);
    // Truncated, and with no header at all, likewise.
    writeFileSync(file, bytes.subarray(0, bytes.length - 512));
    expect(() => readTemplate(file)).toThrow(/bytes, the header says/);
    writeFileSync(file, good);
    expect(() => readTemplate(file)).toThrow(/no header/);

    writeFileSync(file, bytes);
    const rebuilt = await pgliteTemplate({ cacheDir, migrationsDir });
    expect(rebuilt.source).toBe("built");
    // Stored again, whole: the next reader takes it as it is.
    expect(readTemplate(file).equals(rebuilt.tar)).toBe(true);
  });

  it("extracting is all or nothing: a failure midway leaves no directory to resume", async () => {
    const { tar } = await pgliteTemplate({});
    const dir = scratch();
    const dataDir = path.join(dir, "pglite");
    // A tar that, 100 files in, turns to an entry type a data directory never holds (a symlink).
    const broken = Buffer.from(tar.subarray(0, entryOffset(tar, 100)));
    const header = Buffer.alloc(512);
    header.write("/evil", 0);
    header.write("0000644\0", 100);
    header.write("00000000000\0", 124);
    header[156] = "2".charCodeAt(0);
    expect(() => extractTemplate(Buffer.concat([broken, header]), dataDir)).toThrow(
      TemplateCorrupt,
    );
    expect(readdirSync(dir)).toEqual([]);

    extractTemplate(tar, dataDir);
    expect(readFileSync(path.join(dataDir, "PG_VERSION"), "utf8").trim()).toMatch(/^\d+$/);
    expect(readdirSync(dir)).toEqual(["pglite"]);
    // A directory that already holds files is not overwritten.
    expect(() => extractTemplate(tar, dataDir)).toThrow(/ENOTEMPTY|not empty/);
  });

  it("two servers started from one template on two fresh directories share nothing", async () => {
    const cacheDir = await cacheWithEmpty();
    const migrationsDir = migrationsCopy("ok");
    const template = { cacheDir, migrationsDir };
    const file = await templateFile(template);
    const before = readFileSync(await templateFile({ cacheDir }));
    const dir = scratch();
    const [a, b] = await Promise.all(
      ["a", "b"].map((name) =>
        ownEmbedded(path.join(dir, name, "pglite"), { command: `test ${name}`, template }),
      ),
    );
    const clients = [a, b].map((owner) =>
      postgres(owner?.url ?? "", { max: 1, onnotice: () => {} }),
    );
    onTestFinished(async () => {
      await Promise.all(clients.map((sql) => sql.end({ timeout: 1 })));
      await a?.stop();
      await b?.stop();
    });
    const [sqlA, sqlB] = clients as [postgres.Sql, postgres.Sql];
    // Both started migrated: the fixture's two migrations each wrote a row.
    const rows = (sql: postgres.Sql) => sql`select migration from counter order by 1`;
    expect(await rows(sqlA)).toEqual([{ migration: "0000" }, { migration: "0001" }]);
    expect(await rows(sqlB)).toEqual([{ migration: "0000" }, { migration: "0001" }]);
    await sqlA`insert into counter (migration) values ('only in a')`;
    expect(await rows(sqlA)).toHaveLength(3);
    expect(await rows(sqlB)).toHaveLength(2);
    // The cached templates are as they were: a copy was written to, not the cache.
    expect(readFileSync(await templateFile({ cacheDir })).equals(before)).toBe(true);
    expect(() => readTemplate(file)).not.toThrow();
  });

  it("a cached template PGlite cannot start from is rebuilt, and the server starts", async () => {
    const cacheDir = await cacheWithEmpty();
    const migrationsDir = migrationsCopy("ok");
    const file = await templateFile({ cacheDir, migrationsDir });
    // Whole and checksummed, but not a database this PGlite can open: its PG_VERSION says 99.
    const { tar } = await pgliteTemplate({});
    const unopenable = Buffer.from(tar);
    const version = entryData(unopenable, "/PG_VERSION");
    const real = version.toString();
    version.write("99".padEnd(version.length - 1, " "));
    writeTemplate(file, unopenable);

    const dataDir = path.join(scratch(), "pglite");
    const owner = await ownEmbedded(dataDir, {
      command: "test",
      template: { cacheDir, migrationsDir },
    });
    onTestFinished(() => owner.stop());
    const sql = postgres(owner.url, { max: 1, onnotice: () => {} });
    onTestFinished(() => sql.end({ timeout: 1 }));
    expect(await sql`select count(*)::int as n from counter`).toEqual([{ n: 2 }]);
    expect(readFileSync(path.join(dataDir, "PG_VERSION"), "utf8")).toBe(real);
    // The bad template was replaced by the one built.
    expect(entryData(readTemplate(file), "/PG_VERSION").toString()).toBe(real);
  });
});

/** Where entry number `index` of a tar starts. */
function entryOffset(tar: Buffer, index: number): number {
  let offset = 0;
  for (let i = 0; i < index; i++) {
    const size = Number.parseInt(tar.subarray(offset + 124, offset + 136).toString("latin1"), 8);
    offset += 512 + Math.ceil((size || 0) / 512) * 512;
  }
  return offset;
}

/** The bytes of one file in a tar (a view: writing to it edits the tar). */
function entryData(tar: Buffer, name: string): Buffer {
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    if (header[0] === 0) break;
    const size = Number.parseInt(header.subarray(124, 136).toString("latin1"), 8) || 0;
    if (header.subarray(0, 100).toString("latin1").replace(/\0.*$/s, "") === name) {
      return tar.subarray(offset + 512, offset + 512 + size);
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`no ${name} in the tar`);
}
