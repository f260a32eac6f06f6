import { readFileSync } from "node:fs";
import { sql } from "drizzle-orm";
import { startValkey } from "../packages/core/test/valkey";
import { startPostgres } from "../scripts/drill/lib";

/**
 * `npm run bench -- cache`: what one cache operation costs on each store, beside the statement a
 * rate-limited write already runs (Limit.hit, an upsert on the logged rate_limit table), on a
 * throwaway Postgres (pool of one connection, so one backend does all the work) and a throwaway
 * redis-server. CPU, not wall time, is the figure (the machine may be shared): this process's
 * (process.cpuUsage) and the server's (its /proc/<pid>/stat ticks), per operation, over RUNS
 * (5000) sequential operations after a warm-up. ADR 033 reads these numbers.
 */

const runs = Number(process.env.RUNS ?? 5000);
const ticksPerSecond = 100;

const serverTicks = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return Number(fields[11]) + Number(fields[12]);
};

const pg = await startPostgres();
const valkey = await startValkey();
process.env.DATABASE_URL = pg.url;
process.env.DATABASE_POOL_MAX = "1";
process.env.LOG_LEVEL = "error";
try {
  const [{ database, queryRows }, { migrate }, { config }, { Limit }, { namespace }, valkeyStore] =
    await Promise.all([
      import("../packages/core/src/db/client"),
      import("../packages/core/src/db/migrator"),
      import("../packages/core/src/config"),
      import("../packages/core/src/limit"),
      import("../packages/core/src/cache/cache"),
      import("../packages/core/src/cache/valkey"),
    ]);
  const { db } = await database();
  await migrate(db, config().migrationsDir);
  const [row] = await queryRows<{ pid: number }>(db, sql`select pg_backend_pid() as pid`);
  const backend = Number(row?.pid);
  const redisPid = valkey.pid;
  const onValkey = valkeyStore.createValkeyStore({
    kind: "valkey",
    mode: "single",
    url: valkey.url,
  });
  const pgCache = namespace("bench");
  const vkCache = namespace("bench", async () => onValkey);
  const value = { title: "A note title of ordinary length", count: 12, ids: ["not_1", "not_2"] };
  await pgCache.set("hot", value, { ttlSeconds: 3600 });
  await vkCache.set("hot", value, { ttlSeconds: 3600 });
  const rule = { limit: 1_000_000_000, windowSeconds: 3600 };

  const rows: string[] = [];
  async function measure(
    name: string,
    server: "postgres" | "valkey",
    op: (i: number) => Promise<unknown>,
  ) {
    for (let i = 0; i < 1000; i++) await op(i);
    const pid = server === "postgres" ? backend : redisPid;
    const serverBefore = pid ? serverTicks(pid) : Number.NaN;
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < runs; i++) await op(i);
    const wall = ((performance.now() - started) * 1000) / runs;
    const used = process.cpuUsage(cpu);
    const client = (used.user + used.system) / runs;
    const serverUs = (((serverTicks(pid) - serverBefore) / ticksPerSecond) * 1e6) / runs;
    rows.push(
      `| ${name} | ${server} | ${client.toFixed(0)} µs | ${serverUs.toFixed(0)} µs | ${(client + serverUs).toFixed(0)} µs | ${wall.toFixed(0)} µs |`,
    );
  }

  await measure("Limit.hit: upsert on rate_limit (logged), what a write runs now", "postgres", () =>
    Limit.hit("bench", rule),
  );
  await measure("cache set (UNLOGGED upsert)", "postgres", (i) =>
    pgCache.set(`k${i % 100}`, value, { ttlSeconds: 3600 }),
  );
  await measure("cache get, a hit", "postgres", () => pgCache.get("hot"));
  await measure("increment (UNLOGGED upsert)", "postgres", () =>
    pgCache.increment("writes", { ttlSeconds: 3600 }),
  );
  await measure("cache getOrSet, a hit", "postgres", () =>
    pgCache.getOrSet("hot", { ttlSeconds: 3600 }, async () => value),
  );
  await measure("cache set (SET PX)", "valkey", (i) =>
    vkCache.set(`k${i % 100}`, value, { ttlSeconds: 3600 }),
  );
  await measure("cache get, a hit", "valkey", () => vkCache.get("hot"));
  await measure(
    "increment (SET NX PX + INCR): the write rate with SLIPWAY_CACHE=valkey",
    "valkey",
    () => vkCache.increment("writes", { ttlSeconds: 3600 }),
  );
  await measure("cache getOrSet, a hit", "valkey", () =>
    vkCache.getOrSet("hot", { ttlSeconds: 3600 }, async () => value),
  );
  await onValkey.close();
  await (await import("../packages/core/src/db/client")).closeDatabase();
  process.stdout.write(
    `cache operations, mean of ${runs} sequential (node ${process.version}; server CPU from /proc, 10 ms ticks):\n\n` +
      "| operation | store | client CPU | server CPU | CPU total | wall |\n|---|---|---:|---:|---:|---:|\n" +
      `${rows.join("\n")}\n`,
  );
} finally {
  await valkey.stop();
  await pg.remove();
}
process.exit(0);
