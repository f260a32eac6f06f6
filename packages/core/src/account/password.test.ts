import { spawn } from "node:child_process";
import { scryptSync } from "node:crypto";
import { once } from "node:events";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { hash as argon2Hash } from "@node-rs/argon2";
import { sql } from "drizzle-orm";
import { build } from "esbuild";
import fc from "fast-check";
import postgres from "postgres";
import { describe, expect, it, onTestFinished } from "vitest";
import { freePort, waitUntilOk } from "../../../../scripts/net";
import { client } from "../../test/app";
import { bootApp, emptyPgliteTemplate, freshDatabase } from "../../test/database";
import { jsonRequest } from "../../test/http";
import { serverBuild } from "../../test/server-build";
import { ConfigError, loadConfig, repoRoot } from "../config";
import { queryRows } from "../db/client";
import { serveEmbedded } from "../db/embedded-server";
import { AppError } from "../error";
import {
  ARGON2,
  createPasswordHasher,
  HashLimiter,
  hashPassword,
  needsRehash,
  verifyPassword,
} from "./password";

/**
 * Password hashing: Argon2id at OWASP's minimum, the scrypt hashes stored before still verify,
 * malformed stored values are false and never throw, and at most K hashes run at once per process
 * with Q waiting (past that, 503 server_busy at once). Then the production bundle with the
 * Dockerfile's runtime layout, where the native addon must be found beside the bundle.
 */

// Made by the scrypt hashPassword this file replaced (N=2^15, r=8, p=3, NFKC), for this password:
// fullwidth letters and the "ﬁ" ligature, which NFKC folds to "Correct horse fi ☕".
const LEGACY_PASSWORD = "Ｃｏｒｒｅｃｔ ｈｏｒｓｅ ﬁ ☕";
const LEGACY_HASH =
  "scrypt$32768$8$3$evxYpqxCr8uXqhzoMnaGLw$XFFGYvbrSWLfHPQVyaYWa7qDwnFleodRtgX7lQcg3KhOOpm10VtC_C8vrI2N-nAAvAV9JBBe84iRFikBxL6pEg";

/** The parameters a PHC string states (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`). */
function phc(stored: string) {
  const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([^$]+)\$([^$]+)$/.exec(stored);
  if (!match) throw new Error(`not an argon2id PHC string: ${stored}`);
  return {
    m: Number(match[1]),
    t: Number(match[2]),
    p: Number(match[3]),
    saltBytes: Buffer.from(match[4] ?? "", "base64").length,
    hashBytes: Buffer.from(match[5] ?? "", "base64").length,
  };
}

// The parameters themselves are tested here: the real ones, not the cheap ones every other test
// file hashes with (test/setup.ts; account/password.ts).
delete process.env.SLIPWAY_TEST_ARGON2;

const isBusy = (error: unknown) =>
  error instanceof AppError &&
  error.code === "server_busy" &&
  error.status === 503 &&
  JSON.stringify(error.details) === JSON.stringify({ retryAfterSeconds: 1 });

/** A promise and the function that settles it: work that holds a slot until the test says. */
function deferred() {
  let release = () => {};
  const promise = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { promise, release };
}

describe("password hashing", () => {
  it("a new hash is Argon2id with OWASP's minimum or more (m=19456 KiB, t=2, p=1), salted, and round-trips", async () => {
    const stored = await hashPassword("a strong password");
    const params = phc(stored);
    expect(params.m).toBeGreaterThanOrEqual(19_456);
    expect(params.t).toBeGreaterThanOrEqual(2);
    expect(params.p).toBeGreaterThanOrEqual(1);
    expect(params.saltBytes).toBeGreaterThanOrEqual(16);
    expect(params.hashBytes).toBeGreaterThanOrEqual(32);
    expect(await verifyPassword("a strong password", stored)).toBe(true);
    expect(needsRehash(stored)).toBe(false);
    // Salted: the same password twice is two different hashes.
    expect(await hashPassword("a strong password")).not.toBe(stored);
  });

  it("a scrypt hash stored before still verifies, in any NFKC-equal form of its password, and needs a rehash", async () => {
    expect(await verifyPassword(LEGACY_PASSWORD, LEGACY_HASH)).toBe(true);
    expect(await verifyPassword("Correct horse fi ☕", LEGACY_HASH)).toBe(true);
    expect(needsRehash(LEGACY_HASH)).toBe(true);
    // The rehash keeps the same normalisation: what matched before matches after.
    const rehashed = await hashPassword(LEGACY_PASSWORD);
    expect(await verifyPassword("Correct horse fi ☕", rehashed)).toBe(true);
    expect(needsRehash(rehashed)).toBe(false);
  });

  it("a wrong password is false, for either scheme", async () => {
    const stored = await hashPassword("a strong password");
    for (const wrong of ["a strong passwore", "A strong password", "a strong password ", ""]) {
      expect(await verifyPassword(wrong, stored)).toBe(false);
    }
    expect(await verifyPassword("Correct horse fi", LEGACY_HASH)).toBe(false);
  });

  it("needsRehash: Argon2id below the current memory or passes, or another variant, is replaced; equal or more is kept", async () => {
    const at = (memoryCost: number, timeCost: number, algorithm = 2) =>
      argon2Hash("pw", { memoryCost, timeCost, parallelism: 1, algorithm });
    // OWASP's equally strong alternatives with less memory are still below our memory: replaced.
    expect(needsRehash(await at(12_288, 3))).toBe(true);
    expect(needsRehash(await at(19_456, 1))).toBe(true);
    expect(needsRehash(await at(19_456, 2, 1))).toBe(true); // argon2i
    expect(needsRehash(await at(19_456, 2))).toBe(false);
    expect(needsRehash(await at(47_104, 2))).toBe(false);
    expect(needsRehash(await at(19_456, 3))).toBe(false);
    expect(needsRehash("")).toBe(true);
  });

  it("stored values that are not a hash of ours are false without running away: absurd costs, other variants, bad encodings", async () => {
    const salt = "c2FsdHNhbHRzYWx0c2FsdA";
    const out = "MnimCD2u1zK8wDqENJhV8ApWgbprO+Tm2GgAk3F3RHo";
    const cases = [
      "",
      "scrypt",
      "$argon2id$",
      `$argon2id$v=19$m=4294967295,t=2,p=1$${salt}$${out}`, // 4 TiB of memory
      `$argon2id$v=19$m=19456,t=100000,p=1$${salt}$${out}`, // hours of CPU
      `$argon2id$v=19$m=19456,t=2,p=255$${salt}$${out}`,
      `$argon2id$v=16$m=19456,t=2,p=1$${salt}$${out}`,
      `$argon2i$v=19$m=19456,t=2,p=1$${salt}$${out}`,
      `$argon2id$v=19$m=19456,t=2,p=1$${salt}a$${out}`, // salt of impossible base64 length
      `$argon2id$v=19$m=19456,t=2,p=1$${salt}$${out}$`,
      "scrypt$32768$8$1000$evxYpqxCr8uXqhzoMnaGLw$XFFGYvbrSWLfHPQVyaYWa7qDwnFleodRtgX7lQcg3Kg",
      "scrypt$1048576$8$3$evxYpqxCr8uXqhzoMnaGLw$XFFGYvbrSWLfHPQVyaYWa7qDwnFleodRtgX7lQcg3Kg",
      "scrypt$30000$8$3$evxYpqxCr8uXqhzoMnaGLw$XFFGYvbrSWLfHPQVyaYWa7qDwnFleodRtgX7lQcg3Kg",
      "scrypt$32768$8$3$$XFFGYvbrSWLfHPQVyaYWa7qDwnFleodRtgX7lQcg3Kg",
      LEGACY_HASH.replace("$3$", "$0$"),
    ];
    const started = performance.now();
    for (const stored of cases) expect(await verifyPassword("pw", stored), stored).toBe(false);
    // None of them ran a hash with the stated costs (one legacy verify alone is ~300 ms).
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("a stored hash past our cost bounds is refused even for its right password: Argon2id m > 64 MiB, t > 4 or p > 4; scrypt p > 4", async () => {
    // Fails with the bounds the parser had (m ≤ 1 GiB, t ≤ 16, p ≤ 16): a planted or corrupt row
    // cost a login 1 GiB and over a second of CPU (attack finding 8).
    const argon = (memoryCost: number, timeCost: number, parallelism = 1) =>
      argon2Hash("the right one", { memoryCost, timeCost, parallelism, algorithm: 2 });
    const scryptHash = (N: number, r: number, p: number) => {
      const salt = Buffer.from("0123456789abcdef");
      const key = scryptSync("the right one", salt, 32, { N, r, p });
      return `scrypt$${N}$${r}$${p}$${salt.toString("base64url")}$${key.toString("base64url")}`;
    };
    // At the bounds: verified.
    for (const stored of [
      await argon(64 * 1024, 1),
      await argon(64, 4),
      await argon(64, 1, 4),
      scryptHash(1024, 8, 4),
    ]) {
      expect(await verifyPassword("the right one", stored), stored).toBe(true);
    }
    // One past them: malformed, false without a hash being run.
    for (const stored of [
      await argon(64 * 1024 + 1, 1),
      await argon(64, 5),
      await argon(80, 1, 5),
      scryptHash(1024, 8, 5),
    ]) {
      expect(await verifyPassword("the right one", stored), stored).toBe(false);
    }
    // scrypt within 64 MiB and p ≤ 4 but 4/3 past the old hashes' work (N·r·p): ~800 ms of CPU
    // if it ran; refused before it does.
    const started = performance.now();
    expect(await verifyPassword("pw", LEGACY_HASH.replace("$32768$8$3$", "$65536$8$4$"))).toBe(
      false,
    );
    expect(performance.now() - started).toBeLessThan(300);
    expect(await verifyPassword(LEGACY_PASSWORD, LEGACY_HASH)).toBe(true); // the old ones still do
  });

  it("property: any string as the stored hash, or a valid one with an edit, is false for a wrong password and never throws", async () => {
    const hasher = createPasswordHasher({ concurrency: 4, queue: 1_000 });
    const argon = await hashPassword("the right one");
    const fragments = fc.constantFrom(
      "$",
      "argon2id",
      "argon2i",
      "v=19",
      "m=19456",
      ",t=2",
      ",p=1",
      "scrypt",
      "32768",
      "8",
      "3",
      "0",
      "-1",
      "99999999999",
      "c2FsdHNhbHRzYWx0c2FsdA",
      "MnimCD2u1zK8wDqENJhV8ApWgbprO+Tm2GgAk3F3RHo",
      "=",
      "_",
    );
    /** A valid hash with one edit: a cut, an insertion or a replacement somewhere. */
    const edited = (valid: string) =>
      fc
        .record({
          at: fc.nat({ max: valid.length }),
          remove: fc.nat({ max: 3 }),
          insert: fc.string({ unit: "binary", maxLength: 3 }),
        })
        .map(({ at, remove, insert }) => valid.slice(0, at) + insert + valid.slice(at + remove))
        .filter((stored) => stored !== valid);
    const stored = fc.oneof(
      fc.string({ unit: "binary" }),
      fc.string({ unit: "grapheme" }),
      fc.array(fragments, { maxLength: 12 }).map((parts) => parts.join("")),
      edited(argon),
    );
    await fc.assert(
      fc.asyncProperty(stored, fc.string({ unit: "binary", maxLength: 40 }), async (s, pw) => {
        // A wrong password: an edit that keeps an equivalent encoding must still not match it.
        await expect(hasher.verifyPassword(`${pw}not the right one`, s)).resolves.toBe(false);
      }),
      { numRuns: 150 },
    );
    // The scrypt format is slow to check (~300 ms a verify): fewer edits of it.
    await fc.assert(
      fc.asyncProperty(edited(LEGACY_HASH), async (s) => {
        await expect(hasher.verifyPassword("Correct horse fi", s)).resolves.toBe(false);
      }),
      { numRuns: 8 },
    );
    expect(hasher.limiter.active).toBe(0);
  }, 60_000);

  it("property: any Unicode password round-trips, and verifies in its NFKC and NFC forms", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ unit: "binary" }), fc.string({ unit: "grapheme", maxLength: 20 })),
        async (password) => {
          const stored = await hashPassword(password);
          expect(await verifyPassword(password, stored)).toBe(true);
          expect(await verifyPassword(password.normalize("NFKC"), stored)).toBe(true);
          expect(await verifyPassword(password.normalize("NFC"), stored)).toBe(true);
        },
      ),
      { numRuns: 20 },
    );
  }, 60_000);
});

describe("password hashing: bounded concurrency", () => {
  const K = 2;
  const Q = 3;

  it(`K+Q+5 concurrent verifies: K run, Q wait, exactly the 5 past them fail at once with server_busy; the rest verify`, async () => {
    const hasher = createPasswordHasher({ concurrency: K, queue: Q });
    const stored = await hasher.hashPassword("a strong password");
    const settled: number[] = [];
    const calls = Array.from({ length: K + Q + 5 }, (_, i) =>
      hasher.verifyPassword("a strong password", stored).finally(() => settled.push(i)),
    );
    expect({ active: hasher.limiter.active, waiting: hasher.limiter.waiting }).toEqual({
      active: K,
      waiting: Q,
    });
    const results = await Promise.allSettled(calls);
    const refused = results.flatMap((r, i) => (r.status === "rejected" ? [i] : []));
    const excess = [K + Q, K + Q + 1, K + Q + 2, K + Q + 3, K + Q + 4];
    expect(refused).toEqual(excess);
    for (const i of refused)
      expect(isBusy((results[i] as PromiseRejectedResult).reason)).toBe(true);
    for (const r of results.slice(0, K + Q))
      expect(r).toEqual({ status: "fulfilled", value: true });
    // Failing fast: every refusal settled before any hash finished.
    expect(settled.slice(0, 5).sort()).toEqual(excess);
    expect({ active: hasher.limiter.active, waiting: hasher.limiter.waiting }).toEqual({
      active: 0,
      waiting: 0,
    });
  });

  it("hashPassword and the unknown-email dummy verify share the bound; the dummy is Argon2id with the current parameters", async () => {
    const hasher = createPasswordHasher({ concurrency: 1, queue: 0 });
    const dummy = await hasher.dummyHash();
    expect(phc(dummy)).toMatchObject({ m: ARGON2.memoryCost, t: ARGON2.timeCost, p: 1 });
    expect(needsRehash(dummy)).toBe(false);
    const running = hasher.verifyPassword("anything", dummy);
    await expect(hasher.hashPassword("other")).rejects.toSatisfy(isBusy);
    await expect(hasher.verifyPassword("anything", dummy)).rejects.toSatisfy(isBusy);
    expect(await running).toBe(false);
    expect(await hasher.dummyHash()).toBe(dummy); // made once
  });

  it("the limiter frees its slots after errors: tasks that throw or reject, and verifies the algorithm refuses, leave it empty", async () => {
    const limiter = new HashLimiter({ concurrency: K, queue: Q });
    const outcomes = await Promise.allSettled(
      Array.from({ length: K + Q }, (_, i) =>
        limiter.run(async () => {
          if (i % 2) throw new Error(`task ${i} failed`);
          return Promise.reject(new Error(`task ${i} rejected`));
        }),
      ),
    );
    expect(outcomes.every((o) => o.status === "rejected" && !isBusy(o.reason))).toBe(true);
    expect({ active: limiter.active, waiting: limiter.waiting }).toEqual({ active: 0, waiting: 0 });
    await expect(limiter.run(() => Promise.resolve(1))).resolves.toBe(1);

    // Through the hasher: K+Q verifies of a hash the parser admits but argon2 refuses (a salt
    // too short for it) return false, and a full wave after them is bounded as from fresh.
    const hasher = createPasswordHasher({ concurrency: K, queue: Q });
    const refused = `$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$${"A".repeat(43)}`;
    const first = await Promise.all(
      Array.from({ length: K + Q }, () => hasher.verifyPassword("pw", refused)),
    );
    expect(first).toEqual(Array(K + Q).fill(false));
    const stored = await hasher.hashPassword("pw");
    const wave = await Promise.allSettled(
      Array.from({ length: K + Q + 5 }, () => hasher.verifyPassword("pw", stored)),
    );
    expect(wave.filter((r) => r.status === "fulfilled" && r.value === true)).toHaveLength(K + Q);
    expect(wave.filter((r) => r.status === "rejected" && isBusy(r.reason))).toHaveLength(5);
  });

  it("waiting calls take the freed slots in order: one slot, handed on, never two at once", async () => {
    const limiter = new HashLimiter({ concurrency: 1, queue: 2 });
    const order: string[] = [];
    const holds = [deferred(), deferred(), deferred()];
    const runs = holds.map((hold, i) =>
      limiter.run(async () => {
        order.push(`start ${i} (active ${limiter.active})`);
        await hold.promise;
        order.push(`end ${i}`);
      }),
    );
    holds[0]?.release();
    await runs[0];
    holds[1]?.release();
    await runs[1];
    holds[2]?.release();
    await runs[2];
    expect(order).toEqual([
      "start 0 (active 1)",
      "end 0",
      "start 1 (active 1)",
      "end 1",
      "start 2 (active 1)",
      "end 2",
    ]);
    expect(limiter.active).toBe(0);
  });
});

describe("password hashing: configuration", () => {
  it("PASSWORD_HASH_CONCURRENCY and PASSWORD_HASH_QUEUE default to 2 and 8; a value the limiter cannot take is an error naming it", () => {
    expect(loadConfig({}, {}).passwordHashing).toEqual({ concurrency: 2, queue: 8 });
    expect(
      loadConfig({ PASSWORD_HASH_CONCURRENCY: "4", PASSWORD_HASH_QUEUE: "0" }, {}).passwordHashing,
    ).toEqual({ concurrency: 4, queue: 0 });
    for (const [name, value] of [
      ["PASSWORD_HASH_CONCURRENCY", "0"],
      ["PASSWORD_HASH_CONCURRENCY", "two"],
      ["PASSWORD_HASH_QUEUE", "-1"],
      ["PASSWORD_HASH_QUEUE", "1.5"],
    ] as const) {
      expect(() => loadConfig({ [name]: value }, {})).toThrow(ConfigError);
      expect(() => loadConfig({ [name]: value }, {})).toThrow(name);
    }
  });
});

describe("password hashing: through the app", () => {
  it("with every hashing slot taken, a burst of logins and signups gets 503 server_busy with Retry-After: 1 and creates nothing; once free, login works", async () => {
    const fresh = await freshDatabase({ migrated: true });
    // PASSWORD_HASH_CONCURRENCY / _QUEUE reach the app's limiter through config.
    const booted = await bootApp(
      { ...fresh.env, PASSWORD_HASH_CONCURRENCY: "1", PASSWORD_HASH_QUEUE: "0" },
      fresh.handle,
    );
    await booted.migrator.migrate(fresh.handle.db, booted.config.migrationsDir);
    const { passwordHasher } = await import("./password"); // the booted app's instance
    expect(passwordHasher().limiter.limits).toEqual({ concurrency: 1, queue: 0 });
    const account = { email: "busy@example.com", password: "a strong password" };
    const { auth } = client(undefined, booted.app).api;
    expect((await auth.signup.$post({ json: { ...account, name: "B" } })).status).toBe(201);

    // The one slot, held by work that ends when the test says (a login's hash, standing still).
    const hold = deferred();
    const holding = passwordHasher().limiter.run(() => hold.promise);
    const users = async () =>
      (
        await queryRows<{ n: number }>(fresh.handle.db, sql`select count(*)::int as n from "user"`)
      )[0]?.n;
    const before = await users();
    const burst = await Promise.all([
      ...Array.from({ length: 4 }, () =>
        booted.app.request("/api/auth/login", jsonRequest(account)),
      ),
      ...Array.from({ length: 3 }, (_, i) =>
        booted.app.request(
          "/api/auth/signup",
          jsonRequest({ email: `new${i}@example.com`, password: "a strong password", name: "N" }),
        ),
      ),
    ]);
    for (const response of burst) {
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("1");
      expect(await response.json()).toMatchObject({ error: { code: "server_busy" } });
    }
    expect(await users()).toBe(before);

    hold.release();
    await holding;
    expect((await auth.login.$post({ json: account })).status).toBe(200);
  });
});

/** The runtime stage's COPY lines: what the image holds, as [source, destination under WORKDIR]. */
function runtimeCopies(dockerfile: string) {
  const stage = dockerfile.split(/^FROM .* AS runtime$/m)[1];
  if (!stage) throw new Error("the Dockerfile has no runtime stage");
  const workdir = /^WORKDIR (\S+)$/m.exec(stage)?.[1] ?? "/";
  return [...stage.matchAll(/^COPY (.+)$/gm)].map((match) => {
    const words = (match[1] ?? "").split(/\s+/);
    const fromBuild = words.includes("--from=build");
    const [source, destination] = words.filter((word) => !word.startsWith("--"));
    if (!source || !destination) throw new Error(`cannot read ${match[0]}`);
    // Trailing slashes dropped: `dist/` and `dist` are one directory.
    const absolute = path.posix.join(workdir, destination).replace(/(.)\/+$/, "$1");
    return { fromBuild, source, destination: absolute, workdir };
  });
}

describe("password hashing: the production bundle", () => {
  it("the container bundle loads the Argon2id addon from the files the Dockerfile copies, and signup and login work; without them it does not start", {
    timeout: 120_000,
  }, async () => {
    const scratch = mkdtempSync(path.join(tmpdir(), "slipway-image-"));
    onTestFinished(() => rmSync(scratch, { recursive: true, force: true }));
    // The Dockerfile's build (once for the run, test/server-build.ts; the layouts copy it).
    const built = (await serverBuild()).dist;

    // The image's /app, file for file: each COPY of the runtime stage, from the build stage's
    // /src (this checkout, its node_modules as npm ci left them) or from the build context.
    const copies = runtimeCopies(
      readFileSync(path.join(repoRoot, "packages/core/Dockerfile"), "utf8"),
    );
    expect(copies.map((c) => c.destination)).toContain("/app/node_modules/@node-rs");
    const layout = (name: string, include: (destination: string) => boolean) => {
      const root = path.join(scratch, name);
      for (const copy of copies.filter((c) => include(c.destination))) {
        const source = !copy.fromBuild
          ? path.join(repoRoot, copy.source)
          : copy.source.replace(/\/+$/, "") === "/src/packages/core/dist"
            ? built
            : path.join(repoRoot, path.relative("/src", copy.source));
        const target = path.join(root, path.relative("/", copy.destination));
        mkdirSync(path.dirname(target), { recursive: true });
        cpSync(source, target, { recursive: true });
      }
      return path.join(root, copies[0]?.workdir ?? "/app");
    };
    const image = layout("image", () => true);
    const bare = layout("bare", (destination) => !destination.includes("node_modules"));
    // Nothing above the layouts holds a node_modules the bundle could find instead.
    expect(path.relative(repoRoot, scratch).startsWith("..")).toBe(true);

    // A Postgres for it, as deployed (the image has no PGlite): the test server's, or PGlite
    // served over the wire protocol from this process.
    let url: string;
    if (process.env.TEST_DATABASE_URL) {
      const fresh = await freshDatabase();
      url = fresh.env.DATABASE_URL ?? "";
    } else {
      const db = await PGlite.create("memory://", { loadDataDir: await emptyPgliteTemplate() });
      const server = await serveEmbedded(db);
      onTestFinished(async () => {
        await server.stop();
        await db.close();
      });
      url = `postgres://postgres@127.0.0.1:${server.port}/postgres`;
    }

    const start = async (cwd: string, extra: Record<string, string> = {}) => {
      const port = await freePort();
      const child = spawn(process.execPath, ["--enable-source-maps", "server.mjs"], {
        cwd,
        env: {
          PATH: process.env.PATH,
          NODE_ENV: "production",
          PORT: String(port),
          MIGRATIONS_DIR: path.join(cwd, "migrations"),
          MIGRATE_ON_BOOT: "true",
          DATABASE_URL: url,
          STORAGE_DIR: path.join(scratch, "storage"),
          LOG_LEVEL: "error",
          ...extra,
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      onTestFinished(() => {
        if (child.exitCode === null) child.kill("SIGKILL");
      });
      let output = "";
      child.stdout?.on("data", (chunk) => {
        output += chunk;
      });
      child.stderr?.on("data", (chunk) => {
        output += chunk;
      });
      return { child, port, output: () => output };
    };

    // Without the copied node_modules the bundle stops at once, naming the addon: the COPY is
    // what makes the image work, and nothing on this machine stands in for it.
    const without = await start(bare);
    const [code] = await once(without.child, "exit");
    expect(code).not.toBe(0);
    expect(without.output()).toContain("@node-rs/argon2");

    // Asked for the tests' cheap hashing, as inside vitest (where config allows it): the bundle
    // never reads it, so the hash below still has the real parameters.
    const { child, port, output } = await start(image, {
      SLIPWAY_TEST_ARGON2: "cheap",
      VITEST: "true",
    });
    await waitUntilOk(`http://127.0.0.1:${port}/api/health/ready`, child).catch((error) => {
      throw new Error(`${error}\n${output()}`);
    });
    const base = `http://127.0.0.1:${port}`;
    const origin = { origin: `http://localhost:${port}`, "content-type": "application/json" };
    const account = { email: "image@example.com", password: "a strong password" };
    const post = (target: string, body: unknown) =>
      fetch(`${base}${target}`, { method: "POST", headers: origin, body: JSON.stringify(body) });
    const signup = await post("/api/auth/signup", { ...account, name: "Image" });
    expect(signup.status, await signup.clone().text()).toBe(201);
    expect((await post("/api/auth/login", account)).status).toBe(200);
    expect((await post("/api/auth/login", { ...account, password: "wrong password" })).status).toBe(
      401,
    );
    const pg = postgres(url, { max: 1, onnotice: () => {} });
    onTestFinished(() => pg.end({ timeout: 1 }));
    const [row] = await pg<{ hash: string }[]>`select password_hash as hash from "user"`;
    expect(row?.hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);

    child.kill("SIGTERM");
    const [exit] = await once(child, "exit");
    expect(exit).toBe(0);
  });

  it("the task worker Lambda's bundle does not take in password hashing (its native addon cannot be bundled)", async () => {
    const result = await build({
      entryPoints: [path.join(repoRoot, "packages/functions/src/worker.ts")],
      bundle: true,
      write: false,
      metafile: true,
      platform: "node",
      format: "esm",
      // As infra bundles it (bench/worker-bundle.ts): PGlite is never used on Lambda.
      external: ["@electric-sql/pglite", "drizzle-orm/pglite"],
      logLevel: "silent",
    }).catch((error: Error) => ({ error }));
    // SST bundles the worker with esbuild and no loader for `.node` files: importing password.ts
    // (e.g. maintenance → account → password) fails the deploy's build of the worker.
    expect(
      "error" in result ? result.error.message : "",
      "the worker must not import account/password.ts",
    ).toBe("");
    if ("metafile" in result) {
      const inputs = Object.keys(result.metafile?.inputs ?? {});
      expect(inputs.filter((input) => /account\/password\.ts|@node-rs/.test(input))).toEqual([]);
    }
  });
});
