import { serve } from "@hono/node-server";
import { ConfigError, config, loadDotEnv } from "./config";

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
  { tasks },
  { schedules },
  { closeDatabase, database },
  { migrate },
  { log },
  { startTasks },
  errors,
] = await Promise.all([
  import("./api"),
  import("./tasks"),
  import("./schedules"),
  import("./db/client"),
  import("./db/migrator"),
  import("./log"),
  import("./task/start"),
  import("./observability/error-reporting"),
]);
// Loads Sentry only when a DSN is configured.
const reporting = await errors.initErrorReporting();

const settings = config();
if (settings.migrateOnBoot) {
  const { db } = await database();
  const { applied } = await migrate(db, settings.migrationsDir);
  log.info("migrations up to date", { applied: applied.length });
}

// Offline this process is also the task worker and the scheduler (on AWS: SQS + Lambda +
// EventBridge Scheduler). Everywhere it sweeps the outbox.
const stopTasks = await startTasks({ tasks, schedules });

const server = serve({ fetch: site.fetch, port: settings.port }, (info) => {
  log.info("api listening", {
    url: `http://localhost:${info.port}`,
    stage: settings.stage,
    errorReporting: reporting,
  });
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info("api stopping", { signal });
  // Let in-flight requests finish (ECS allows 30 s after SIGTERM), then close the pool.
  const force = setTimeout(() => process.exit(1), 25_000);
  force.unref();
  server.close(async () => {
    await stopTasks();
    await errors.flushErrors();
    await closeDatabase();
    log.info("api stopped");
    process.exit(0);
  });
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
