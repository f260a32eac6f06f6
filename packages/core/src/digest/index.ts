export * as Digest from "./digest";
export { dailyTask } from "./digest.tasks";
