import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as z from "zod";
import { errorResponse, errorResponses, jsonResponse } from "../http/openapi";
import { validate } from "../http/validate";
import { adminOnly, adminWrite, security, tags } from "./http";
import { parseRowsQuery } from "./query";
import { Row, RowsPage, type TableBrowser, TableInfo, UpdateInput } from "./tables";

const NameParam = z.strictObject({ name: z.string().min(1).max(63) });
const noTable = errorResponse(404, "`not_found`: no table of this name");

/** The generic table browser over the composition root's tables (tables.ts). */
export function createTableRoutes(browser: TableBrowser) {
  return new Hono()
    .get(
      "/",
      describeRoute({
        operationId: "adminListTables",
        summary: "Every table of the app, with its columns (from the modules' drizzle tables)",
        description:
          "Hidden columns (secrets a module marks sensitive, or named like one) are listed but never returned; `indexed` columns take filters; `editable` ones may be set with PATCH.",
        tags,
        security,
        responses: {
          200: jsonResponse("The tables, by name", { tables: z.array(TableInfo) }),
          ...adminOnly,
        },
      }),
      (c) => c.json({ tables: browser.list() }, 200),
    )
    .get(
      "/:name/rows",
      describeRoute({
        operationId: "adminListRows",
        summary: "A page of a table's rows, in primary-key order (keyset)",
        description:
          "`filter[col]=v` keeps rows whose column equals v; `prefix[col]=t` those whose text column starts with t; both only on indexed, visible columns (else 400 naming it). Hidden columns are left out of every row. Pass `nextCursor` back as `cursor`.",
        tags,
        security,
        parameters: [
          { name: "cursor", in: "query", schema: { type: "string" } },
          {
            name: "limit",
            in: "query",
            schema: { type: "integer", minimum: 1, maximum: 100, default: 50 },
          },
          {
            name: "filter",
            in: "query",
            style: "deepObject",
            explode: true,
            description: "Equality on indexed columns: `filter[email]=ann@example.com`",
            schema: { type: "object", additionalProperties: { type: "string" } },
          },
          {
            name: "prefix",
            in: "query",
            style: "deepObject",
            explode: true,
            description: "Starts-with on indexed text columns: `prefix[email]=ann`",
            schema: { type: "object", additionalProperties: { type: "string" } },
          },
        ],
        responses: {
          200: jsonResponse("A page", RowsPage),
          ...errorResponses(400),
          ...adminOnly,
          404: noTable,
        },
      }),
      validate("param", NameParam),
      async (c) => {
        const query = parseRowsQuery([...new URL(c.req.url).searchParams]);
        return c.json(await browser.rows(c.req.valid("param").name, query), 200);
      },
    )
    .patch(
      "/:name/rows",
      describeRoute({
        operationId: "adminUpdateRow",
        summary: "Set editable columns of one row, found by its whole primary key (audited)",
        tags,
        security,
        responses: {
          200: jsonResponse("The row as it is now (hidden columns left out)", { row: Row }),
          ...adminWrite,
          404: errorResponse(404, "`not_found`: no such table, or no row with this key"),
          409: errorResponse(409, "`conflict`: another row has the value of a unique column"),
        },
      }),
      validate("param", NameParam),
      validate("json", UpdateInput),
      async (c) => {
        const row = await browser.update(c.req.valid("param").name, c.req.valid("json"));
        return c.json({ row }, 200);
      },
    );
}
