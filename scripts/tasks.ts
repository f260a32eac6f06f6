import { config, DEFAULT_TIMEOUTS, loadDotEnv } from "@slipway/core/config";

/**
 * `npm run tasks -- list | dlq | redrive [<message id>] | discard <message id> | run <task> '<json>'`
 *
 * Offline: works on the embedded database through its owner (the running `npm run dev` serves it
 * over the Postgres protocol), or becomes its owner while it runs when no one else is. Against a
 * deployed stage: `npx sst shell --stage <stage> -- npm run tasks -- list` (SST's links).
 */

const usage =
  "usage: npm run tasks -- list | dlq | redrive [<message id>] | discard <message id> | run <task> '<json payload>'";
const [command, taskName, payloadText] = process.argv.slice(2);

loadDotEnv();
const settings = config();

const [
  client,
  { migrate },
  { ownEmbedded, ownerURL },
  { createOperator },
  { queueAdmin },
  { tasks },
  { schedules },
] = await Promise.all([
  import("@slipway/core/db/client"),
  import("@slipway/core/db/migrator"),
  import("@slipway/core/db/embedded"),
  import("@slipway/core/task/operator"),
  import("@slipway/core/task/admin-runtime"),
  import("@slipway/core/tasks"),
  import("@slipway/core/schedules"),
]);

/** The embedded database through its owner, or this process as its owner. */
async function connectEmbedded(dataDir: string) {
  let url = ownerURL(dataDir);
  const owned = url ? undefined : await ownEmbedded(dataDir, { command: "npm run tasks" });
  url ??= owned?.url ?? "";
  client.setDatabase(
    client.openDatabase(
      { kind: "postgres", url, poolMax: 1, timeouts: DEFAULT_TIMEOUTS },
      undefined,
      { embedded: true },
    ),
  );
  return owned;
}

function parsePayload(): unknown {
  try {
    return payloadText ? JSON.parse(payloadText) : {};
  } catch {
    throw new Error(`the payload is not JSON: ${payloadText}`);
  }
}

async function main() {
  // This CLI's composition root: the app's tasks and schedules on this stage's queue.
  const operator = createOperator({ tasks, schedules, queue: queueAdmin });
  switch (command) {
    case "list":
      return print(await operator.overview());
    case "dlq":
      return print({ deadLetters: await operator.deadLetters() });
    case "redrive":
      // With a dead letter's id, only that one (as the console's redrive does).
      if (taskName) return print({ redriven: await operator.redriveOne(taskName) });
      return print({ moved: await operator.redrive() });
    case "discard":
      if (!taskName) throw new Error(usage);
      return print({ discarded: await operator.discard(taskName) });
    case "run": {
      if (!taskName) throw new Error(usage);
      return print({ queued: await operator.run(taskName, parsePayload()) });
    }
    default:
      throw new Error(usage);
  }
}

function print(value: unknown) {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

let owned: Awaited<ReturnType<typeof connectEmbedded>>;
try {
  const db = settings.database;
  if (db.kind === "pglite" && !db.dataDir.includes("://"))
    owned = await connectEmbedded(db.dataDir);
  if (settings.tasks.kind === "local") {
    await migrate((await client.database()).db, settings.migrationsDir);
  }
  await main();
  await client.closeDatabase();
  await owned?.stop();
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  await owned?.stop().catch(() => {});
  process.exit(1);
}
