import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { errorResponses, jsonResponse } from "../http/openapi";
import { validate } from "../http/validate";
import * as Note from "./note";

const tags = ["notes"];

export const NoteRoutes = new Hono()
  .get(
    "/",
    describeRoute({
      summary: "The signed-in user's notes, newest first (keyset pagination)",
      tags,
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
      summary: "Create a note",
      tags,
      responses: {
        201: jsonResponse("The note", { note: Note.Info }),
        ...errorResponses(400, 401, 403, 409, 429),
      },
    }),
    validate("json", Note.CreateInput),
    async (c) => c.json({ note: await Note.create(c.req.valid("json")) }, 201),
  )
  .get(
    "/:id",
    describeRoute({
      summary: "One note",
      tags,
      responses: {
        200: jsonResponse("The note", { note: Note.Info }),
        ...errorResponses(401, 404),
      },
    }),
    validate("param", Note.IDParam),
    async (c) => c.json({ note: await Note.fromID(c.req.valid("param").id) }, 200),
  )
  .patch(
    "/:id",
    describeRoute({
      summary: "Change a note's title or body",
      tags,
      responses: {
        200: jsonResponse("The note", { note: Note.Info }),
        ...errorResponses(400, 401, 403, 404, 429),
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
      summary: "Delete a note",
      tags,
      responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404, 429) },
    }),
    validate("param", Note.IDParam),
    async (c) => {
      await Note.remove(c.req.valid("param").id);
      return c.body(null, 204);
    },
  );
