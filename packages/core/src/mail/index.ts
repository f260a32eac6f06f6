export * as Mail from "./mail";
export { deliverTask } from "./mail.tasks";
