import { ServerResponse } from "node:http";
import type { ValidateFunction } from "ajv";

/**
 * The OpenAPI document as a contract every response the tests receive must keep: its status is
 * one the operation documents, a documented body matches the schema (ajv, JSON Schema 2020-12 as
 * OpenAPI 3.1 has it; success schemas are closed, so an undocumented field fails too), an
 * undocumented one is empty, and a documented required header (`Retry-After` on a 429) is there.
 * A path no operation serves may answer only the error envelope. Only `/api`: the offline object
 * store beside it (`/storage`) speaks S3, not this contract.
 *
 * setup.ts puts `watchResponses` on the app and the site of every test file (and of every app a
 * test boots), and fails the test that received a response breaking the contract.
 */

interface ResponseSpec {
  content?: Record<string, { schema?: unknown }>;
  headers?: Record<string, { required?: boolean; $ref?: string }>;
}
interface Operation {
  operationId?: string;
  responses?: Record<string, ResponseSpec>;
}
export interface Document {
  paths: Record<string, Record<string, Operation>>;
  components?: { headers?: Record<string, { required?: boolean }> };
}

const DOCUMENT_ID = "openapi.json";

/** Checks responses against one document: each schema compiled once, when first needed. */
export async function contractChecker(document: Document) {
  const [{ default: Ajv2020 }, { default: addFormats }] = await Promise.all([
    import("ajv/dist/2020"),
    import("ajv-formats"),
  ]);
  // Not strict: the document carries OpenAPI's own keywords (`example`) beside JSON Schema's.
  // Not checked against the meta-schema (Redocly lints it): that cost ~0.4 s per test file.
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  ajv.addSchema(document as object, DOCUMENT_ID);
  const compiled = new Map<string, ValidateFunction>();
  const validator = (pointer: string) => {
    let validate = compiled.get(pointer);
    if (!validate) {
      validate = ajv.compile({ $ref: `${DOCUMENT_ID}#${pointer}` });
      compiled.set(pointer, validate);
    }
    return validate;
  };

  // Literal paths first: `/api/openapi.json` is not `/api/notes/{id}`'s kind of path.
  const templates = Object.keys(document.paths)
    .sort((a, b) => Number(a.includes("{")) - Number(b.includes("{")))
    .map((template) => ({
      template,
      pattern: new RegExp(
        `^${template
          .split(/\{[^}]+\}/)
          .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, "\\$&"))
          .join("[^/]+")}$`,
      ),
    }));
  const pathOf = (path: string) => templates.find(({ pattern }) => pattern.test(path))?.template;

  const schemaProblems = (pointer: string, body: unknown): string[] => {
    const validate = validator(pointer);
    if (validate(body)) return [];
    return (validate.errors ?? []).map((error) => {
      const extra =
        error.keyword === "additionalProperties" ? ` (${error.params.additionalProperty})` : "";
      return `body${error.instancePath} ${error.message ?? "is invalid"}${extra}`;
    });
  };

  const ERROR = "/components/schemas/Error";

  /**
   * What is wrong with `response` to `method path` (nothing: []). Reads its body. `headers`: what
   * goes on the wire, when that is more than the response's own (`sentHeaders`).
   */
  return async function problems(
    method: string,
    path: string,
    response: Response,
    headers: Headers = response.headers,
  ): Promise<string[]> {
    const status = response.status;
    const template = pathOf(path);
    const lower = method.toLowerCase();
    // Hono answers HEAD with the GET route, without the body.
    const operation = template
      ? document.paths[template]?.[lower === "head" ? "get" : lower]
      : undefined;
    const text = lower === "head" ? "" : await response.text();
    const json = (): unknown => {
      try {
        return JSON.parse(text);
      } catch {
        return undefined;
      }
    };
    const isJSON = /^application\/json\b/.test(headers.get("content-type") ?? "");

    if (!operation) {
      // Routing's own answers (404, 405 with Allow) and the checks that run before it.
      if (status < 400) return [`${status} on a path and method no operation documents`];
      if (lower === "head") return [];
      if (!isJSON) return [`${status} is not the JSON error envelope`];
      return schemaProblems(ERROR, json());
    }

    const name = operation.operationId ?? `${method} ${template}`;
    const responses = operation.responses ?? {};
    const key = [String(status), `${String(status)[0]}XX`, "default"].find((k) => k in responses);
    const spec = key === undefined ? undefined : responses[key];
    if (key === undefined || spec === undefined) {
      const documented = Object.keys(responses).join(", ");
      return [`${status} is not a documented status of ${name} (${documented})`];
    }

    const found: string[] = [];
    for (const [header, declared] of Object.entries(spec.headers ?? {})) {
      const resolved = declared.$ref
        ? document.components?.headers?.[declared.$ref.split("/").pop() ?? ""]
        : declared;
      if (resolved?.required && !headers.has(header)) {
        found.push(`${status} of ${name} lacks its required ${header} header`);
      }
    }
    if (lower === "head") return found;

    const media = spec.content?.["application/json"];
    if (!media) {
      // A body of another kind (the API reference's page and script): its media type is checked,
      // its bytes are not JSON to validate.
      const documented = Object.keys(spec.content ?? {});
      const sent = (headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
      if (documented.length > 0) {
        if (!documented.includes(sent.toLowerCase())) {
          found.push(
            `${status} of ${name} is documented as ${documented.join(", ")}, not ${sent || "no content type"}`,
          );
        }
        return found;
      }
      if (text.length > 0) found.push(`${status} of ${name} documents no body, but one was sent`);
      return found;
    }
    if (!isJSON) {
      found.push(`${status} of ${name} is documented as JSON, not ${headers.get("content-type")}`);
      return found;
    }
    const pointer = `/paths/${pointerSegment(template ?? "")}/${lower}/responses/${key}/content/application~1json/schema`;
    for (const problem of schemaProblems(pointer, json())) {
      found.push(`${status} of ${name}: ${problem}`);
    }
    return found;
  };
}

/** A JSON Pointer segment (RFC 6901). */
function pointerSegment(segment: string): string {
  return segment.replaceAll("~", "~0").replaceAll("/", "~1");
}

type Fetch = (request: Request, ...rest: never[]) => Response | Promise<Response>;

/**
 * Where the problems found, and the checks still running, wait for the test that caused them. On
 * `globalThis`: a test that boots a fresh app (`bootApp`) imports this module anew, and its
 * responses must reach the same list.
 */
interface Shared {
  violations: string[];
  pending: Set<Promise<void>>;
}
const SHARED = Symbol.for("slipway.test.contract");
function shared(): Shared {
  const registry = globalThis as unknown as Record<symbol, Shared | undefined>;
  const found = registry[SHARED];
  if (found) return found;
  const made: Shared = { violations: [], pending: new Set() };
  registry[SHARED] = made;
  return made;
}
const violations = () => shared().violations;
const pending = () => shared().pending;

/** The contract violations found since the last call, once every check under way has ended. */
export async function takeViolations(): Promise<string[]> {
  while (pending().size > 0) await Promise.all([...pending()]);
  return violations().splice(0);
}

const WATCHED = Symbol.for("slipway.test.contract-watched");

/**
 * Checks every response `app.fetch` gives (what `app.request`, the typed test clients and a
 * server over the app all go through) against `document`, recording each violation for
 * `takeViolations`. The response is passed on at once, unchanged: the check reads a clone of it
 * beside the test, so it adds no latency to what the test waits for (a UI test's timeouts
 * included). The document and the checker are prepared as soon as the app is watched.
 */
export function watchResponses<F extends Fetch>(
  app: { fetch: F },
  document: () => Promise<unknown>,
): void {
  const target = app as { fetch: F; [WATCHED]?: true };
  if (target[WATCHED]) return;
  target[WATCHED] = true;
  const original: Fetch = app.fetch;
  const checker = document().then((doc) => contractChecker(doc as Document));
  // A failure to prepare is reported by the first check that needs it, not as unhandled.
  checker.catch(() => {});
  const watched = async (request: Request, ...rest: never[]) => {
    const response = await original(request, ...rest);
    const { pathname } = new URL(request.url);
    if (pathname === "/api" || pathname.startsWith("/api/")) {
      const copy = response.clone();
      const headers = sentHeaders(response, rest[0]);
      const where = `${request.method} ${pathname}`;
      const check = checker
        .then((problems) => problems(request.method, pathname, copy, headers))
        .then(
          (found) => {
            for (const problem of found) violations().push(`${where}: ${problem}`);
          },
          (error: unknown) => {
            violations().push(`${where}: the check itself failed: ${String(error)}`);
          },
        )
        .finally(() => pending().delete(check));
      pending().add(check);
    }
    return response;
  };
  // The same call signature: what it returns is the original's response, awaited.
  app.fetch = watched as unknown as F;
}

/**
 * The headers a response goes out with. Served by @hono/node-server (its `env` holds Node's
 * response), the platform's default headers are already on Node's response (http/app.ts
 * `defaultHeader`), and `writeHead` adds the response's own over them.
 */
function sentHeaders(response: Response, env: unknown): Headers {
  const outgoing = (env as { outgoing?: unknown } | undefined)?.outgoing;
  if (!(outgoing instanceof ServerResponse)) return response.headers;
  const sent = new Headers(response.headers);
  for (const [name, value] of Object.entries(outgoing.getHeaders())) {
    if (value !== undefined && !sent.has(name)) sent.set(name, String(value));
  }
  return sent;
}

/** Whether `app`'s responses are being checked (the suite proves its own hook is on). */
export function isWatched(app: object): boolean {
  return (app as { [WATCHED]?: true })[WATCHED] === true;
}
