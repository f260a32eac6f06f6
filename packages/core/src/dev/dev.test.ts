import { describe, expect, it } from "vitest";
import { client } from "../../test/app";
import { loadConfig } from "../config";
import { rollback } from "../db/transaction";
import { devToolsEnabled } from "./dev.routes";

const { tasks } = client().api.dev;

describe("offline dev routes", () => {
  it("exist only offline: a deployed stage (SST links present) has none", () => {
    expect(devToolsEnabled(loadConfig({}, {}))).toBe(true);
    const deployed = loadConfig(
      {},
      {
        Database: { host: "db", port: 5432, username: "u", password: "p", database: "d" },
        TaskQueue: { url: "https://sqs.us-east-1.amazonaws.com/1/q" },
      },
    );
    expect(devToolsEnabled(deployed)).toBe(false);
  });

  it("lists tasks, schedules and queue depths", async () =>
    rollback(async () => {
      const response = await tasks.$get();
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({
        queue: "local",
        tasks: expect.arrayContaining(["maintenance.cleanup", "digest.daily", "mail.deliver"]),
        schedules: expect.arrayContaining([
          expect.objectContaining({ name: "maintenance-cleanup-hourly", next: expect.any(String) }),
        ]),
        messages: { visible: 0, total: 0 },
        deadLetters: 0,
      });
    }));

  it("queues a task to run now; a bad payload is 400 and an unknown task 404, queueing nothing", async () =>
    rollback(async () => {
      const queued = await tasks.run.$post({ json: { task: "maintenance.cleanup", payload: {} } });
      expect(queued.status).toBe(202);
      expect(await queued.json()).toEqual({ id: expect.stringMatching(/^tsk_/) });

      const bad = await tasks.run.$post({
        json: { task: "maintenance.cleanup", payload: { x: 1 } },
      });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ error: { code: "validation_failed" } });
      const unknown = await tasks.run.$post({ json: { task: "nope.task" } });
      expect(unknown.status).toBe(404);

      const overview = await (await tasks.$get()).json();
      expect(overview.messages.total).toBe(1);
    }));
});
