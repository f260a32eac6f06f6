export * as Mail from "./mail";
export { mailTasks } from "./mail.tasks";
