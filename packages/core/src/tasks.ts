// Each module's `*.tasks.ts`, not its barrel: a barrel also exports the module's routes, and
// the worker Lambda's bundle would take in Hono and the OpenAPI generator (ADR 022).
import { accountTasks } from "./account/account.tasks";
import { attachmentTasks } from "./attachment/attachment.tasks";
import { digestTasks } from "./digest/digest.tasks";
import { mailTasks } from "./mail/mail.tasks";
import { maintenanceTasks } from "./maintenance/maintenance.tasks";
import type { TaskHandler } from "./task/task";

/**
 * Every task handler of the app, one line per module: what the worker can run. The entry points
 * (server.ts offline, the worker Lambda, the tasks CLI) pass this list to the task platform.
 * src/registries.test.ts fails when a module's `*.tasks.ts` handler is missing here.
 */
export const tasks: readonly TaskHandler[] = [
  ...accountTasks,
  ...attachmentTasks,
  ...digestTasks,
  ...mailTasks,
  ...maintenanceTasks,
];
