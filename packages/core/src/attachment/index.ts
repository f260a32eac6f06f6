export * as Attachment from "./attachment";
export { AttachmentRoutes } from "./attachment.routes";
export { deleteObjectsTask, processTask } from "./attachment.tasks";
