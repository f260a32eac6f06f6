import { z } from "zod";
import { defineTask } from "../task/task";
import { deleteObject, processUpload } from "./attachment";

export const processTask = defineTask(
  "attachments.process",
  z.strictObject({ attachmentId: z.string().min(1) }),
  ({ attachmentId }) => processUpload(attachmentId),
);

// Keys come from rows this app wrote; the prefix check keeps a bad payload from reaching others.
export const deleteObjectTask = defineTask(
  "attachments.deleteObject",
  z.strictObject({ key: z.string().startsWith("attachments/") }),
  ({ key }) => deleteObject(key),
);
