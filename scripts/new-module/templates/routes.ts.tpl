import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { errorResponse, errorResponses, jsonResponse, signedIn } from "../http/openapi";
import { validate } from "../http/validate";
import * as __Pascal__ from "./__kebab__";

// Every operation here needs a session; a signed-in user's writes count against the write rate
// (429). 400/403/413/415/500/503 come from the platform (http/openapi.ts).
const tags = ["__plural__"];
const security = signedIn;
const notFound = errorResponse(404, "`not_found`: no such __words__, or not yours");

export const __Pascal__Routes = new Hono()
  .get(
    "/",
    describeRoute({
      operationId: "list__PluralPascal__",
      summary: "The signed-in user's __pluralWords__, newest first (keyset pagination)",
      description: "Pass `nextCursor` back as `cursor` for the next page; it is null on the last.",
      tags,
      security,
      responses: {
        200: jsonResponse("A page", {
          items: __Pascal__.Info.array(),
          nextCursor: __Pascal__.Info.shape.id.nullable(),
        }),
        ...errorResponses(400, 401),
      },
    }),
    validate("query", __Pascal__.ListInput),
    async (c) => c.json(await __Pascal__.list(c.req.valid("query")), 200),
  )
  .post(
    "/",
    describeRoute({
      operationId: "create__Pascal__",
      summary: "Create a __words__",
      tags,
      security,
      responses: {
        201: jsonResponse("The __words__", { __camel__: __Pascal__.Info }),
        ...errorResponses(401, 429),
      },
    }),
    validate("json", __Pascal__.CreateInput),
    async (c) => c.json({ __camel__: await __Pascal__.create(c.req.valid("json")) }, 201),
  )
  .get(
    "/:id",
    describeRoute({
      operationId: "get__Pascal__",
      summary: "One __words__",
      tags,
      security,
      responses: {
        200: jsonResponse("The __words__", { __camel__: __Pascal__.Info }),
        ...errorResponses(400, 401),
        404: notFound,
      },
    }),
    validate("param", __Pascal__.IDParam),
    async (c) => c.json({ __camel__: await __Pascal__.fromID(c.req.valid("param").id) }, 200),
  )
  .delete(
    "/:id",
    describeRoute({
      operationId: "delete__Pascal__",
      summary: "Delete a __words__",
      tags,
      security,
      responses: {
        204: { description: "Deleted" },
        ...errorResponses(401, 429),
        404: notFound,
      },
    }),
    validate("param", __Pascal__.IDParam),
    async (c) => {
      await __Pascal__.remove(c.req.valid("param").id);
      return c.body(null, 204);
    },
  );
