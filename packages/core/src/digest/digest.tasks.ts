import { z } from "zod";
import { log } from "../log";
import { defineTask } from "../task/task";
import { sendDaily } from "./digest";

export const dailyTask = defineTask("digest.daily", z.strictObject({}), async () => {
  log.info("daily digest", await sendDaily());
});
