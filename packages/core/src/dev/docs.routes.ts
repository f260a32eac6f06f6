import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { repoRoot } from "../config";
import { errorResponse, publicAccess } from "../http/openapi";
import { offlineOnly } from "./dev.routes";

/**
 * The API reference for people, `GET /api/docs`: Redoc rendering the live `/api/openapi.json`,
 * offline only, like the other dev routes (404 deployed, 403 from anywhere but this machine).
 * Redoc's standalone bundle (React and its styles in one file, ~1.1 MB) is served from the
 * installed package, read at request time: it is never in the server bundle, so no boot reads
 * it, and it is only ever read where node_modules exists (offline). ADR 024 says why Redoc 2.
 */

/** Where the page loads its script from: this API, never a CDN. */
export const REDOC_SCRIPT_PATH = "/api/docs/redoc.standalone.js";
const SPEC_PATH = "/api/openapi.json";

/**
 * Resolved from packages/core wherever this code runs (the sources in tests, the dev bundle under
 * .data/cache/api/, dist/), since config.ts finds the repository from its own location in each.
 */
function redocBundlePath(): string {
  const require = createRequire(path.join(repoRoot, "packages/core/package.json"));
  return require.resolve("redoc/bundles/redoc.standalone.js");
}

/**
 * Only same-origin sources: the page, its script and the document are this API's, and the
 * reference must work with no network beyond it. What Redoc needs besides 'self', and why:
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  // Redoc's CSS is styled-components, which writes it into <style> elements as it renders
  // (without this, Chromium shows nothing of it). Styles only: scripts stay 'self', and the page
  // holds no input of anyone's (a fixed string).
  "style-src 'self' 'unsafe-inline'",
  // Its icons are inline SVG; some are data: URIs in its CSS. Its footer links Redocly with their
  // logo from their CDN: refused here, so the browser never asks (Redoc then hides the image).
  "img-src 'self' data:",
  // The document it renders.
  "connect-src 'self'",
  // Its search index runs in a worker it builds from a Blob of its own code.
  "worker-src blob:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

// No input of the request reaches the page: every byte of it is this constant.
const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Slipway API reference</title>
    <!-- An empty icon: the browser's own request for /favicon.ico would find none. -->
    <link rel="icon" href="data:,">
  </head>
  <body>
    <redoc spec-url="${SPEC_PATH}"></redoc>
    <script src="${REDOC_SCRIPT_PATH}"></script>
  </body>
</html>
`;

const tags = ["dev"];
const errors = {
  403: errorResponse(403, "`forbidden`: not from this machine, or not addressed to localhost"),
  404: errorResponse(404, "`not_found`: a deployed stage (the reference exists only offline)"),
};

export const DocsRoutes = new Hono()
  .use(offlineOnly)
  .get(
    "/",
    describeRoute({
      operationId: "getReferencePage",
      summary: "This API's reference for people (Redoc over this document), offline only",
      tags,
      security: publicAccess,
      responses: {
        200: {
          description: "The reference page, which loads its script and this document from here",
          content: { "text/html": { schema: { type: "string" } } },
        },
        ...errors,
      },
    }),
    (c) => {
      c.header("Content-Security-Policy", DOCS_CSP);
      return c.html(PAGE, 200);
    },
  )
  .get(
    "/redoc.standalone.js",
    describeRoute({
      operationId: "getReferenceScript",
      summary: "The reference page's script: Redoc's standalone bundle, as installed",
      tags,
      security: publicAccess,
      responses: {
        200: {
          description: "JavaScript",
          content: { "text/javascript": { schema: { type: "string" } } },
        },
        ...errors,
      },
    }),
    async (c) => {
      const script = await readFile(redocBundlePath(), "utf8");
      c.header("Content-Security-Policy", DOCS_CSP);
      return c.body(script, 200, { "content-type": "text/javascript; charset=utf-8" });
    },
  );
