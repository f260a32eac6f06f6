import type { Server as HttpServer } from "node:http";
import { Server as NetServer } from "node:net";
import { serve } from "@hono/node-server";
import { ConfigError, config, DEFAULT_TIMEOUTS, loadDotEnv } from "./config";

/**
 * Node entry of the API: the container on Fargate and `npm run dev` offline.
 * Offline it migrates first; deployed stages migrate in the deploy-time function instead.
 */

loadDotEnv();
try {
  config();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}

// Imported once .env is loaded and the config is valid: a bad config is one clear message, and
// nothing has started.
const [
  { site },
  { ownEmbedded },
  { DatabaseOwnedError },
  { tasks },
  { schedules },
  { closeDatabase, database, openDatabase, setDatabase },
  { migrate },
  { bufferLogOutput, flushLogs, log },
  { startTasks },
  errors,
  { startMetricsFlush },
  { devToolsEnabled },
  { withDevFaults },
] = await Promise.all([
  import("./api"),
  import("./db/embedded"),
  import("./db/owner"),
  import("./tasks"),
  import("./schedules"),
  import("./db/client"),
  import("./db/migrator"),
  import("./log"),
  import("./task/start"),
  import("./observability/error-reporting"),
  import("./observability/metrics"),
  import("./dev/dev.routes"),
  import("./dev/faults"),
]);
// Log lines batched per event-loop turn and bounded (log.ts, ADR 020): a slow log reader neither
// blocks the event loop nor grows memory. Flushed before exit, on a crash too.
bufferLogOutput();
// Loads Sentry only when a DSN is configured.
const reporting = await errors.initErrorReporting();

const settings = config();
// Offline, `npm run dev`: recent traces kept for GET /api/dev/traces/:traceId (ADR 029).
if (settings.devTraces) (await import("./dev/trace-buffer")).startTraceBuffer();

// Offline, on a PGlite directory: this process becomes its one owner and serves it over the
// Postgres protocol; the API connects there like any other client (db/embedded.ts). A second
// server on the same directory stops here, naming the owner.
let embedded: Awaited<ReturnType<typeof ownEmbedded>> | undefined;
if (settings.database.kind === "pglite" && !settings.database.dataDir.includes("://")) {
  try {
    embedded = await ownEmbedded(settings.database.dataDir, {
      command: `api on port ${settings.port} (pid ${process.pid})`,
      port: settings.embeddedPort,
    });
  } catch (error) {
    if (!(error instanceof DatabaseOwnedError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  setDatabase(
    openDatabase(
      { kind: "postgres", url: embedded.url, poolMax: 5, timeouts: DEFAULT_TIMEOUTS },
      undefined,
      { embedded: true },
    ),
  );
  log.info("embedded database served", { url: embedded.url, dir: settings.database.dataDir });
}

if (settings.migrateOnBoot) {
  const { db } = await database();
  const { applied } = await migrate(db, settings.migrationsDir);
  log.info("migrations up to date", { applied: applied.length });
}

// A database this start created (a fresh .data/) gets the demo account and notes, unless SEED is
// false; a later start skips this. Loaded only then (its own chunk in the container's bundle).
if (embedded?.created && settings.migrateOnBoot && settings.seedFreshDatabase) {
  const [started, cpu] = [performance.now(), process.cpuUsage()];
  const { seed } = await import("./seed/seed");
  try {
    const seeded = await seed();
    const durationMs = Math.round(performance.now() - started);
    // CPU too (this process's: PGlite runs in it), which load on the machine moves less.
    const { user, system } = process.cpuUsage(cpu);
    const cpuMs = Math.round((user + system) / 1000);
    log.info("demo data seeded", { email: seeded.email, notes: seeded.notes, durationMs, cpuMs });
  } catch (error) {
    // The app works without it; `npm run db:seed` tries again and says why it fails.
    log.error("seeding the demo data failed (npm run db:seed to retry)", { error });
  }
}

// Offline this process is also the task worker and the scheduler (on AWS: SQS + Lambda +
// EventBridge Scheduler). Everywhere it sweeps the outbox. Offline its tasks can be made to fail
// on purpose (dev/faults.ts, switched by the dev routes).
const stopTasks = await startTasks({
  tasks: devToolsEnabled(settings) ? withDevFaults(tasks) : tasks,
  schedules,
});
// Requests' and tasks' metrics, gathered in memory and written as EMF lines once a minute
// (observability/metrics.ts, ADR 030); the stop writes the rest.
const stopMetrics = startMetricsFlush();

// Loopback unless configured (HOST) or guarded by the origin secret (config.ts): offline, nothing
// on the network reaches the dev server and its dev routes.
const server = serve(
  { fetch: site.fetch, port: settings.port, hostname: settings.host },
  (info) => {
    log.info("api listening", {
      url: `http://localhost:${info.port}`,
      address: info.address,
      stage: settings.stage,
      errorReporting: reporting,
    });
  },
);

let stopping = false;
const http = server as HttpServer;
// While stopping, every response closes its connection (`Connection: close`). Without it a
// keep-alive client goes on sending requests on its open connections, which the close below waits
// for, so under steady load the process never stopped and was forced out at 25 s with exit 1,
// resetting the requests then in flight (`npm run drill -- sigterm`).
http.prependListener("request", (_request, response) => {
  if (stopping) response.setHeader("connection", "close");
});

/** How long connections idle at the signal are kept: anything already sent on them is read first. */
const IDLE_GRACE_MS = 500;

async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  embedded?.stopping();
  log.info("api stopping", { signal });
  // Let in-flight requests finish (ECS allows 30 s after SIGTERM), then close the pool.
  const force = setTimeout(() => process.exit(1), 25_000);
  force.unref();
  // Stop accepting connections; the callback runs once every open one has closed, each after its
  // response. Not http.Server#close: it also destroys at once every connection idle at that
  // moment, and with it a request that had just arrived on one, unread (its client saw a reset).
  // Those go a moment later instead.
  NetServer.prototype.close.call(http, async () => {
    await stopTasks();
    await errors.flushErrors();
    await closeDatabase();
    await embedded?.stop();
    log.info("api stopped");
    stopMetrics();
    await flushLogs();
    process.exit(0);
  });
  setTimeout(() => http.closeIdleConnections(), IDLE_GRACE_MS).unref();
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
