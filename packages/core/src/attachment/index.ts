export * as Attachment from "./attachment";
export { AttachmentRoutes } from "./attachment.routes";
export { deleteObjectTask, processTask } from "./attachment.tasks";
