import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { describe, expect, it, onTestFinished } from "vitest";
import * as z from "zod";
import { bootApp, freshDatabase } from "../../test/database";

/**
 * A task in flight when its process is killed (`kill -9`: no cleanup, no shutdown hook) is not
 * lost: its open transaction dies with the process, and the message comes back once its visibility
 * timeout has passed, when the dead delivery's claim on the task has ended too. Runs against a
 * real file-backed PGlite, or a fresh Postgres database.
 */
describe("a worker killed mid-task", () => {
  // A child process that boots the app and a PGlite of its own: 5-10 s here, more on a loaded
  // machine, against the 20 s meant for in-process tests.
  it("gets its task delivered again after the visibility timeout, and nothing half-done stays", {
    timeout: 60_000,
  }, async () => {
    let env: Record<string, string>;
    if (process.env.TEST_DATABASE_URL) {
      env = (await freshDatabase()).env;
    } else {
      const dir = mkdtempSync(path.join(tmpdir(), "slipway-crash-"));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      env = { DATABASE_URL: "", PGLITE_DIR: path.join(dir, "pglite") };
    }
    // Long enough that "still hidden" holds however slow the machine; the clock is moved past it.
    env.TASK_VISIBILITY_TIMEOUT_SECONDS = "30";

    const script = new URL("../../test/fixtures/blocking-worker.ts", import.meta.url).pathname;
    const child = spawn(process.execPath, ["--import", "tsx", script], {
      env: { ...process.env, ...env, LOG_LEVEL: "silent" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    onTestFinished(() => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("started")) resolve();
      });
      child.on("exit", (code) => reject(new Error(`worker exited early (${code})`)));
    });
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));

    // A new process on the same database.
    const booted = await bootApp(env);
    const { createLocalQueue } = await import("./local-queue");
    const { createWorker } = await import("./worker");
    const { defineTask, handleTask } = await import("./task");
    const { useTransaction } = await import("../db/transaction");
    const { queryRows } = await import("../db/client");

    const settings = booted.config.tasks as {
      visibilityTimeoutSeconds: number;
      maxReceiveCount: number;
    };
    const queueOptions = { queue: "tasks", deadLetterQueue: "tasks-dead-letters", ...settings };
    // Within the timeout the message is still hidden; past it (clock moved 31 s on), it is back.
    expect(await createLocalQueue(queueOptions).receive()).toEqual([]);
    const laterClock = () => new Date(Date.now() + 31_000);
    const later = createLocalQueue({ ...queueOptions, clock: laterClock });
    const [message] = await later.receive();
    expect(message).toMatchObject({ receiveCount: 2 });

    const ran: string[] = [];
    const finish = handleTask(
      defineTask("probe.block", z.object({})),
      async (_, { id, attempt }) => {
        ran.push(`${id} attempt ${attempt}`);
      },
    );
    const event = later.toEvent(message ? [message] : []);
    // The killed delivery claimed the task until its deadline (the visibility timeout, offline):
    // before that, another delivery does not run it...
    expect((await createWorker([finish])(event)).batchItemFailures).toHaveLength(1);
    expect(ran).toEqual([]);
    // ...after it (the clock moved 31 s on, as the queue's), the next delivery takes it over.
    const result = await createWorker([finish], { clock: laterClock })(event);
    expect(result.batchItemFailures).toEqual([]);
    await later.delete(message ? [message.receiptHandle] : []);

    expect(ran).toEqual(["tsk_crash attempt 2"]);
    // The killed attempt's write died with its transaction.
    const rows = await useTransaction((tx) => queryRows(tx, sql`select note from crash_probe`));
    expect(rows).toEqual([]);
    expect(await later.depth()).toEqual({ queue: { visible: 0, total: 0 }, deadLetters: 0 });
  });
});
