import { defineSchedule } from "../task/schedule";

export const digestDaily = defineSchedule({
  name: "digest-daily",
  expression: "cron(0 8 * * ? *)",
  timezone: "UTC",
  task: "digest.daily",
  payload: {},
  description: "Emails each user the notes that changed in the last day",
});
