export * as Attachment from "./attachment";
export { AttachmentRoutes } from "./attachment.routes";
export { attachmentTasks } from "./attachment.tasks";
