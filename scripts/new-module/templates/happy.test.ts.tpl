import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { client, signupUser } from "../../test/app";
import { drain } from "../../test/tasks";
import { queryRows } from "../db/client";
import { rollback, useTransaction } from "../db/transaction";
import { scheduleMessage } from "../task/queue-policy";
import { localQueue } from "../task/runtime";
import { tasks } from "../tasks";
import { total } from "./__kebab__";
import { __camel__Daily } from "./__kebab__.schedules";

describe("__pluralWords__: happy paths", () => {
  it("create, read, list, delete", async () =>
    rollback(async () => {
      const api = client((await signupUser()).cookie).api__pluralAccess__;
      const created = await api.$post({ json: { title: "First" } });
      expect(created.status).toBe(201);
      const { __camel__ } = await created.json();
      expect(__camel__).toMatchObject({
        id: expect.stringMatching(/^__prefix___[0-9A-Z]{26}$/),
        title: "First",
      });
      const param = { id: __camel__.id };
      expect(await (await api[":id"].$get({ param })).json()).toEqual({ __camel__ });
      expect(await (await api.$get({ query: {} })).json()).toEqual({
        items: [__camel__],
        nextCursor: null,
      });
      expect((await api[":id"].$delete({ param })).status).toBe(204);
      expect((await api[":id"].$get({ param })).status).toBe(404);
    }));

  it("lists newest first, a page at a time: each one once", async () =>
    rollback(async () => {
      const api = client((await signupUser()).cookie).api__pluralAccess__;
      const ids: string[] = [];
      for (const title of ["a", "b", "c"]) {
        ids.push((await (await api.$post({ json: { title } })).json()).__camel__.id);
      }
      const first = await (await api.$get({ query: { limit: "2" } })).json();
      const cursor = first.nextCursor ?? "";
      const second = await (await api.$get({ query: { limit: "2", cursor } })).json();
      expect([...first.items, ...second.items].map((item) => item.id)).toEqual(ids.reverse());
      expect(second.nextCursor).toBeNull();
    }));

  it("queues its task with the row, and the worker runs it and the scheduled report", async () =>
    rollback(async () => {
      const api = client((await signupUser()).cookie).api__pluralAccess__;
      const { __camel__ } = await (await api.$post({ json: { title: "Queued" } })).json();
      const queued = await useTransaction((tx) =>
        queryRows<{ payload: unknown }>(
          tx,
          sql`select payload from task_outbox where task = '__kebab__.created'`,
        ),
      );
      expect(queued).toEqual([{ payload: { id: __camel__.id } }]);
      await localQueue().sendRaw(scheduleMessage(__camel__Daily));
      // Every task succeeds (drain fails the test otherwise): the app's whole registry, where
      // the generator listed this module's handlers, as the worker runs them (the signup above
      // queued the account's verification mail too).
      await drain(tasks);
      expect(await total()).toBeGreaterThanOrEqual(1);
    }));
});
