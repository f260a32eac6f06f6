import { defineSchedule } from "../task/schedule";

// Plain data: infra reads this file (through ../schedules.ts) to create the EventBridge schedules.
export const cleanupHourly = defineSchedule({
  name: "maintenance-cleanup-hourly",
  expression: "cron(17 * * * ? *)",
  timezone: "UTC",
  task: "maintenance.cleanup",
  payload: {},
  description:
    "Deletes expired sessions, login failures, abandoned uploads, relayed outbox rows and old task receipts",
});
