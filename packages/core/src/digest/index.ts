export * as Digest from "./digest";
export { digestTasks } from "./digest.tasks";
