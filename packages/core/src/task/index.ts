export type { Schedule } from "./schedule";
export { defineSchedule } from "./schedule";
export * as Task from "./task";
