import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { errorResponses, jsonResponse } from "../http/openapi";
import { validate } from "../http/validate";
import * as Attachment from "./attachment";

const tags = ["attachments"];

/** Mounted at `/api`: creating and listing sit under the note, the rest under the attachment. */
export const AttachmentRoutes = new Hono()
  .post(
    "/notes/:id/attachments",
    describeRoute({
      summary: "Start an upload: a pending attachment and a presigned POST form for its file",
      description:
        "POST `upload.fields` and then the file as `file` (multipart/form-data) to `upload.url` " +
        "within 5 minutes, then call `/api/attachments/{id}/complete`.",
      tags,
      responses: {
        201: jsonResponse("The pending attachment and its upload form", {
          attachment: Attachment.Info,
          upload: Attachment.Upload,
        }),
        ...errorResponses(400, 401, 403, 404, 409, 413, 429),
      },
    }),
    validate("param", Attachment.IDParam),
    validate("json", Attachment.CreateInput),
    async (c) => c.json(await Attachment.create(c.req.valid("param").id, c.req.valid("json")), 201),
  )
  .get(
    "/notes/:id/attachments",
    describeRoute({
      summary: "A note's attachments, oldest first",
      tags,
      responses: {
        200: jsonResponse("The attachments", { attachments: Attachment.Info.array() }),
        ...errorResponses(401, 404),
      },
    }),
    validate("param", Attachment.IDParam),
    async (c) => c.json({ attachments: await Attachment.list(c.req.valid("param").id) }, 200),
  )
  .post(
    "/attachments/:id/complete",
    describeRoute({
      summary: "The upload finished: check the file in the background",
      description: "The attachment becomes `ready` or `rejected` within seconds; poll it.",
      tags,
      responses: {
        202: jsonResponse("Accepted for processing", { attachment: Attachment.Info }),
        ...errorResponses(401, 403, 404, 409, 429),
      },
    }),
    validate("param", Attachment.IDParam),
    async (c) => c.json({ attachment: await Attachment.complete(c.req.valid("param").id) }, 202),
  )
  .get(
    "/attachments/:id",
    describeRoute({
      summary: "An attachment, with a short-lived download link once it is ready",
      tags,
      responses: {
        200: jsonResponse("The attachment", {
          attachment: Attachment.Info,
          download: Attachment.Download.nullable(),
        }),
        ...errorResponses(401, 404),
      },
    }),
    validate("param", Attachment.IDParam),
    async (c) => c.json(await Attachment.fromID(c.req.valid("param").id), 200),
  )
  .delete(
    "/attachments/:id",
    describeRoute({
      summary: "Delete an attachment (its file is deleted in the background)",
      tags,
      responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404, 429) },
    }),
    validate("param", Attachment.IDParam),
    async (c) => {
      await Attachment.remove(c.req.valid("param").id);
      return c.body(null, 204);
    },
  );
