import { config, loadDotEnv } from "@slipway/core/config";

/**
 * `npm run tasks -- list | dlq | redrive | run <task> '<json>'`
 *
 * Offline: talks to the running `npm run dev` (which holds the PGlite database) through its dev
 * routes, or opens the database itself when no dev server answers. Against a deployed stage:
 * `npx sst shell --stage <stage> -- npm run tasks -- list` (SQS queues from SST's links).
 */

const usage = "usage: npm run tasks -- list | dlq | redrive | run <task> '<json payload>'";
const [command, taskName, payloadText] = process.argv.slice(2);

loadDotEnv();
const settings = config();

async function viaDevServer(method: "GET" | "POST", path: string, body?: unknown) {
  const url = `http://127.0.0.1:${settings.port}/api/dev${path}`;
  const response = await fetch(url, {
    method,
    // The dev server's CSRF check wants one of its own origins on unsafe requests.
    headers: {
      origin: `http://localhost:${settings.port}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).catch(() => undefined);
  if (!response) return undefined; // no dev server: work on the database directly
  const json = await response.json();
  if (!response.ok) throw new Error(JSON.stringify(json));
  return json as Record<string, unknown>;
}

async function direct() {
  const [{ database }, { migrate }, { createOperator }, { queueAdmin }, { tasks }, { schedules }] =
    await Promise.all([
      import("@slipway/core/db/client"),
      import("@slipway/core/db/migrator"),
      import("@slipway/core/task/operator"),
      import("@slipway/core/task/runtime"),
      import("@slipway/core/tasks"),
      import("@slipway/core/schedules"),
    ]);
  if (settings.tasks.kind === "local") await migrate((await database()).db, settings.migrationsDir);
  // This CLI's composition root: the app's tasks and schedules on this stage's queue.
  return createOperator({ tasks, schedules, queue: queueAdmin });
}

function parsePayload(): unknown {
  try {
    return payloadText ? JSON.parse(payloadText) : {};
  } catch {
    throw new Error(`the payload is not JSON: ${payloadText}`);
  }
}

async function main() {
  const offline = settings.tasks.kind === "local";
  switch (command) {
    case "list": {
      const result =
        (offline && (await viaDevServer("GET", "/tasks"))) || (await (await direct()).overview());
      return print(result);
    }
    case "dlq": {
      const result = (offline && (await viaDevServer("GET", "/tasks/dead-letters"))) || {
        deadLetters: await (await direct()).deadLetters(),
      };
      return print(result);
    }
    case "redrive": {
      const result = (offline && (await viaDevServer("POST", "/tasks/redrive"))) || {
        moved: await (await direct()).redrive(),
      };
      return print(result);
    }
    case "run": {
      if (!taskName) throw new Error(usage);
      const payload = parsePayload();
      const result =
        (offline && (await viaDevServer("POST", "/tasks/run", { task: taskName, payload }))) ||
        (await (await direct()).run(taskName, payload));
      return print({ queued: result });
    }
    default:
      throw new Error(usage);
  }
}

function print(value: unknown) {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

main()
  .then(async () => {
    const { closeDatabase } = await import("@slipway/core/db/client");
    await closeDatabase();
  })
  .catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
