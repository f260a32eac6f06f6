import { log } from "../log";
import { handleTask } from "../task/task";
import {
  sendEmailChange,
  sendEmailChangeTask,
  sendPasswordReset,
  sendPasswordResetTask,
  sendVerification,
  sendVerificationTask,
} from "./tokens";

/** This module's task handlers, for the worker (listed in src/tasks.ts). No address is logged. */
export const accountTasks = [
  handleTask(sendVerificationTask, async (payload, task) => {
    log.info("verification mail", { outcome: await sendVerification(payload, task) });
  }),
  handleTask(sendPasswordResetTask, async (payload, task) => {
    log.info("password reset mail", { outcome: await sendPasswordReset(payload, task) });
  }),
  handleTask(sendEmailChangeTask, async (payload, task) => {
    log.info("email change mail", { outcome: await sendEmailChange(payload, task) });
  }),
];
