import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { errorResponse, errorResponses, jsonResponse, signedIn } from "../http/openapi";
import { validate } from "../http/validate";
import * as Attachment from "./attachment";

// Every operation here needs a session; a signed-in user's writes count against the write rate
// (429). 400/403/413/415/500/503 come from the platform (http/openapi.ts).
const tags = ["attachments"];
const security = signedIn;
const notFound = errorResponse(404, "`not_found`: no such attachment, or not yours");

/** Mounted at `/api`: creating and listing sit under the note, the rest under the attachment. */
export const AttachmentRoutes = new Hono()
  .post(
    "/notes/:id/attachments",
    describeRoute({
      summary: "Start an upload: a pending attachment and a presigned POST form for its file",
      description:
        "POST `upload.fields` and then the file as `file` (multipart/form-data) to `upload.url` " +
        "within 5 minutes, then call `/api/attachments/{id}/complete`.",
      operationId: "createAttachment",
      tags,
      security,
      responses: {
        201: jsonResponse("The pending attachment and its upload form", {
          attachment: Attachment.Info,
          upload: Attachment.Upload,
        }),
        ...errorResponses(401, 429),
        404: errorResponse(404, "`not_found`: no such note, or not yours"),
        409: errorResponse(
          409,
          "`conflict`: the note holds its most attachments (`details.limit`)",
        ),
        413: errorResponse(
          413,
          "`payload_too_large`: the file is over the size limit (`details.issues[].limitBytes`), or `storage_quota_exceeded`: it does not fit the account's quota (`details.limitBytes`, `details.usedBytes`)",
        ),
      },
    }),
    validate("param", Attachment.IDParam),
    validate("json", Attachment.CreateInput),
    async (c) => c.json(await Attachment.create(c.req.valid("param").id, c.req.valid("json")), 201),
  )
  .get(
    "/notes/:id/attachments",
    describeRoute({
      operationId: "listAttachments",
      summary: "A note's attachments, oldest first",
      tags,
      security,
      responses: {
        200: jsonResponse("The attachments", { attachments: Attachment.Info.array() }),
        ...errorResponses(400, 401),
        404: errorResponse(404, "`not_found`: no such note, or not yours"),
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
      operationId: "completeAttachment",
      tags,
      security,
      responses: {
        202: jsonResponse("Accepted for processing", { attachment: Attachment.Info }),
        ...errorResponses(401, 429),
        404: notFound,
        409: errorResponse(409, "`conflict`: the file has not been uploaded yet"),
      },
    }),
    validate("param", Attachment.IDParam),
    async (c) => c.json({ attachment: await Attachment.complete(c.req.valid("param").id) }, 202),
  )
  .get(
    "/attachments/:id",
    describeRoute({
      operationId: "getAttachment",
      summary: "An attachment, with a short-lived download link once it is ready",
      tags,
      security,
      responses: {
        200: jsonResponse("The attachment", {
          attachment: Attachment.Info,
          download: Attachment.Download.nullable(),
        }),
        ...errorResponses(400, 401),
        404: notFound,
      },
    }),
    validate("param", Attachment.IDParam),
    async (c) => c.json(await Attachment.fromID(c.req.valid("param").id), 200),
  )
  .delete(
    "/attachments/:id",
    describeRoute({
      operationId: "deleteAttachment",
      summary: "Delete an attachment (its file is deleted in the background)",
      tags,
      security,
      responses: {
        204: { description: "Deleted" },
        ...errorResponses(401, 429),
        404: notFound,
      },
    }),
    validate("param", Attachment.IDParam),
    async (c) => {
      await Attachment.remove(c.req.valid("param").id);
      return c.body(null, 204);
    },
  );
