import { z } from "zod";
import { log } from "../log";
import { defineTask } from "../task/task";
import { cleanup } from "./maintenance";

export const cleanupTask = defineTask("maintenance.cleanup", z.object({}).strict(), async () => {
  log.info("maintenance cleanup", await cleanup());
});
