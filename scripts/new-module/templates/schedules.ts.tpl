import { defineSchedule } from "../task/schedule";

// Plain data: infra reads this file (through ../schedules.ts) to create the EventBridge schedule.
export const __camel__Daily = defineSchedule({
  name: "__kebab__-daily",
  expression: "cron(30 6 * * ? *)",
  timezone: "UTC",
  task: "__kebab__.report",
  payload: {},
  description: "Logs how many __pluralWords__ there are (the generator's example: change or remove it)",
});
