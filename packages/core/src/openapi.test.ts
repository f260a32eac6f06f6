import { describe, expect, it } from "vitest";
import { app } from "./api";

interface Response {
  description: string;
  headers?: Record<string, { $ref?: string }>;
  content?: Record<string, { schema?: { $ref?: string; type?: string } }>;
}
interface Operation {
  operationId?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  requestBody?: unknown;
  parameters?: { in: string }[];
  responses: Record<string, Response>;
}
interface Doc {
  openapi: string;
  info: { license?: { name: string; identifier?: string } };
  servers?: { url: string }[];
  tags?: { name: string; description?: string }[];
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
  paths: Record<string, Record<string, Operation>>;
}

const document = async () => (await (await app.request("/api/openapi.json")).json()) as Doc;
const operations = (doc: Doc) =>
  Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
  );
const unsafe = new Set(["post", "put", "patch", "delete"]);

describe("OpenAPI document", () => {
  it("is OpenAPI 3.1 and lists every route of the app, with its method", async () => {
    const doc = await document();
    expect(doc.openapi).toBe("3.1.0");
    const routes = app.routes
      .filter((route) => route.method !== "ALL")
      .map((route) => `${route.method.toLowerCase()} ${route.path.replace(/:(\w+)/g, "{$1}")}`);
    const documented = operations(doc).map(({ method, path }) => `${method} ${path}`);
    expect(new Set(routes).size).toBeGreaterThan(10);
    expect([...new Set(routes)].filter((route) => !documented.includes(route))).toEqual([]);
  });

  it("describes request bodies from the same schemas that validate them", async () => {
    const doc = await document();
    const signup = JSON.stringify(doc.paths["/api/auth/signup"]?.post?.requestBody);
    expect(signup).toContain('"password"');
    expect(signup).toContain('"minLength":8');
    expect(signup).toContain('"maxLength":256');
    expect(JSON.stringify(doc.paths["/api/notes"]?.get?.parameters)).toContain('"limit"');
  });

  it("names its servers, license and the tag of each module", async () => {
    const doc = await document();
    expect(doc.servers?.length).toBeGreaterThan(0);
    expect(doc.info.license?.name).toBeTruthy();
    const tags = (doc.tags ?? []).map((tag) => tag.name);
    // A module made by `npm run new:module` adds its tag before `dev` (scripts/new-module/).
    expect(tags.slice(0, 4)).toEqual(["health", "account", "notes", "attachments"]);
    expect(tags.slice(-2)).toEqual(["dev", "meta"]);
    expect(new Set(tags).size).toBe(tags.length);
    expect((doc.tags ?? []).every((tag) => tag.description)).toBe(true);
    for (const { path, method, operation } of operations(doc)) {
      expect(operation.tags, `${method} ${path}`).toHaveLength(1);
      expect(tags, `${method} ${path}`).toContain(operation.tags?.[0]);
    }
  });

  it("gives each operation an operationId a generated client can use as a function name", async () => {
    const doc = await document();
    const ids = operations(doc).map(({ operation }) => operation.operationId ?? "");
    for (const id of ids) expect(id).toMatch(/^[a-z][a-zA-Z]*$/);
    expect(new Set(ids).size).toBe(ids.length);
    // Not hono-openapi's default, built from the method and the path (`getApiNotesById`).
    expect(ids.filter((id) => /^(get|post|patch|delete|put)Api/.test(id))).toEqual([]);
    expect(ids).toEqual(
      expect.arrayContaining(["signUp", "signIn", "createNote", "listNotes", "getNote"]),
    );
  });

  it("declares security on every operation: the session where it is needed (with its 401), an explicit none elsewhere", async () => {
    const doc = await document();
    expect(Object.keys(doc.components.securitySchemes)).toEqual(["session"]);
    for (const { path, method, operation } of operations(doc)) {
      const where = `${method} ${path}`;
      expect(Array.isArray(operation.security), where).toBe(true);
      const needsSession =
        (operation.security?.length ?? 0) > 0 &&
        (operation.security ?? []).every((requirement) => "session" in requirement);
      if (needsSession) expect(Object.keys(operation.responses), where).toContain("401");
      if (path.startsWith("/api/notes") || path.startsWith("/api/attachments")) {
        expect(needsSession, where).toBe(true);
      }
    }
    expect(doc.paths["/api/health"]?.get?.security).toEqual([]);
    expect(doc.paths["/api/auth/signup"]?.post?.security).toEqual([]);
  });

  it("describes every success body with a schema, and every error with the one shared error schema", async () => {
    const doc = await document();
    expect(Object.keys(doc.components.schemas)).toEqual(["Error"]);
    for (const { path, method, operation } of operations(doc)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        const where = `${method} ${path} ${status}`;
        expect(response.description, where).toBeTruthy();
        const schema = response.content?.["application/json"]?.schema;
        if (Number(status) >= 400) {
          expect(schema, where).toEqual({ $ref: "#/components/schemas/Error" });
        } else if (status !== "204" && path.startsWith("/api/docs")) {
          // The API reference's page and script (offline only) are text, not JSON.
          const [media, ...more] = Object.values(response.content ?? {});
          expect(more, where).toEqual([]);
          expect(media?.schema?.type, where).toBe("string");
        } else if (status !== "204" && status !== "304") {
          expect(schema?.type, where).toBe("object");
        } else {
          expect(response.content, where).toBeUndefined();
        }
      }
    }
  });

  it("documents the conditional note read: If-None-Match, a bodiless 304, ETag and Cache-Control on both", async () => {
    const doc = await document();
    const read = operations(doc).find((o) => o.operation.operationId === "getNote")?.operation as
      | {
          parameters?: { name: string; in: string }[];
          responses: Record<string, { content?: unknown; headers?: Record<string, unknown> }>;
        }
      | undefined;
    expect(read?.parameters).toContainEqual(
      expect.objectContaining({ name: "If-None-Match", in: "header" }),
    );
    expect(read?.responses["304"]?.content).toBeUndefined();
    for (const status of ["200", "304"]) {
      expect(Object.keys(read?.responses[status]?.headers ?? {})).toEqual(
        expect.arrayContaining(["ETag", "Cache-Control"]),
      );
    }
  });

  it("documents the errors the platform gives on every operation, 429 with Retry-After where a signed-in user's writes are limited", async () => {
    const doc = await document();
    for (const { path, method, operation } of operations(doc)) {
      const where = `${method} ${path}`;
      const statuses = Object.keys(operation.responses);
      expect(statuses, where).toEqual(expect.arrayContaining(["400", "403", "500", "503"]));
      if (unsafe.has(method)) {
        expect(statuses, where).toEqual(expect.arrayContaining(["413", "415"]));
      }
      // The write rate counts every unsafe request of a signed-in user outside /api/auth/.
      if (unsafe.has(method) && !path.startsWith("/api/auth/")) {
        expect(statuses, where).toContain("429");
      }
      if (operation.responses["429"]) {
        expect(operation.responses["429"].headers?.["Retry-After"], where).toEqual({
          $ref: "#/components/headers/RetryAfter",
        });
      }
    }
  });
});
