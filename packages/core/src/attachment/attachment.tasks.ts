import { z } from "zod";
import { defineTask } from "../task/task";
import { deleteObjectsOf, processUpload } from "./attachment";

const Payload = z.strictObject({
  attachmentId: z
    .string()
    .regex(/^att_[0-9A-HJKMNP-TV-Z]{26}$/, { error: "is not an attachment id" }),
});

export const processTask = defineTask("attachments.process", Payload, ({ attachmentId }) =>
  processUpload(attachmentId),
);

/** Deletes an attachment's objects (its upload and its checked file); keys derive from the id. */
export const deleteObjectsTask = defineTask(
  "attachments.deleteObjects",
  Payload,
  ({ attachmentId }) => deleteObjectsOf(attachmentId),
);
