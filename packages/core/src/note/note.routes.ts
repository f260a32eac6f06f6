import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { revalidatedJSON } from "../http/conditional";
import {
  errorResponse,
  errorResponses,
  jsonResponse,
  notModifiedResponse,
  revalidatedHeaders,
  signedIn,
} from "../http/openapi";
import { validate } from "../http/validate";
import * as Note from "./note";

// Every operation here needs a session; a signed-in user's writes count against the write rate
// (429). 400/403/413/415/500/503 come from the platform (http/openapi.ts).
const tags = ["notes"];
const security = signedIn;
const notFound = errorResponse(404, "`not_found`: no such note, or not yours");

export const NoteRoutes = new Hono()
  .get(
    "/",
    describeRoute({
      operationId: "listNotes",
      summary: "The signed-in user's notes, newest first (keyset pagination)",
      description: "Pass `nextCursor` back as `cursor` for the next page; it is null on the last.",
      tags,
      security,
      responses: {
        200: jsonResponse("A page", {
          notes: Note.Info.array(),
          nextCursor: Note.Info.shape.id.nullable(),
        }),
        ...errorResponses(400, 401),
      },
    }),
    validate("query", Note.ListInput),
    async (c) => c.json(await Note.list(c.req.valid("query")), 200),
  )
  .post(
    "/",
    describeRoute({
      operationId: "createNote",
      summary: "Create a note",
      tags,
      security,
      responses: {
        201: jsonResponse("The note", { note: Note.Info }),
        ...errorResponses(401),
        409: errorResponse(
          409,
          "`quota_exceeded`: the account holds its most notes (`details.limit`, `details.used`)",
        ),
        ...errorResponses(429),
      },
    }),
    validate("json", Note.CreateInput),
    async (c) => c.json({ note: await Note.create(c.req.valid("json")) }, 201),
  )
  .get(
    "/:id",
    describeRoute({
      operationId: "getNote",
      summary: "One note",
      description:
        "Conditional: send the `ETag` back as `If-None-Match` for a 304 while the note is unchanged. `Cache-Control: private, no-cache`: a browser revalidates, no shared cache keeps it.",
      tags,
      security,
      parameters: [
        {
          name: "If-None-Match",
          in: "header",
          required: false,
          description: "ETags of copies the client holds; one that is current gives a 304",
          schema: { type: "string" },
        },
      ],
      responses: {
        200: { ...jsonResponse("The note", { note: Note.Info }), headers: revalidatedHeaders },
        304: notModifiedResponse,
        ...errorResponses(400, 401),
        404: notFound,
      },
    }),
    validate("param", Note.IDParam),
    async (c) => revalidatedJSON(c, { note: await Note.fromID(c.req.valid("param").id) }),
  )
  .patch(
    "/:id",
    describeRoute({
      operationId: "updateNote",
      summary: "Change a note's title or body",
      tags,
      security,
      responses: {
        200: jsonResponse("The note", { note: Note.Info }),
        ...errorResponses(401, 429),
        404: notFound,
      },
    }),
    validate("param", Note.IDParam),
    validate("json", Note.UpdateInput),
    async (c) =>
      c.json({ note: await Note.update(c.req.valid("param").id, c.req.valid("json")) }, 200),
  )
  .delete(
    "/:id",
    describeRoute({
      operationId: "deleteNote",
      summary: "Delete a note",
      description: "Its attachments go with it (their files are deleted in the background).",
      tags,
      security,
      responses: {
        204: { description: "Deleted" },
        ...errorResponses(401, 429),
        404: notFound,
      },
    }),
    validate("param", Note.IDParam),
    async (c) => {
      await Note.remove(c.req.valid("param").id);
      return c.body(null, 204);
    },
  );
