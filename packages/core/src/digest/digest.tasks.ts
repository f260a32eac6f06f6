import { log } from "../log";
import { handleTask } from "../task/task";
import { dailyPageTask, dailyTask, sendDaily, sendOne, sendOneTask } from "./digest";

/** This module's task handlers, for the worker (listed in src/tasks.ts). */
export const digestTasks = [
  handleTask(dailyTask, async () => {
    log.info("daily digest", await sendDaily());
  }),
  handleTask(dailyPageTask, async ({ until, after, pageSize }) => {
    log.info("daily digest page", await sendDaily(new Date(until), { after, pageSize }));
  }),
  handleTask(sendOneTask, async (payload) => {
    log.info("digest for one user", { userId: payload.userId, outcome: await sendOne(payload) });
  }),
];
