import { describe, expect, it } from "vitest";
import { app } from "./api";

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { requestBody?: unknown; parameters?: unknown[] }>>;
};

describe("OpenAPI document", () => {
  it("is OpenAPI 3.1 and lists every route of the app, with its method", async () => {
    const doc = (await (await app.request("/api/openapi.json")).json()) as Doc;
    expect(doc.openapi).toBe("3.1.0");
    const routes = app.routes
      .filter((route) => route.method !== "ALL")
      .map((route) => `${route.method.toLowerCase()} ${route.path.replace(/:(\w+)/g, "{$1}")}`);
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `${m} ${path}`),
    );
    expect(new Set(routes).size).toBeGreaterThan(10);
    expect([...new Set(routes)].filter((route) => !documented.includes(route))).toEqual([]);
  });

  it("describes request bodies from the same schemas that validate them", async () => {
    const doc = (await (await app.request("/api/openapi.json")).json()) as Doc;
    const signup = JSON.stringify(doc.paths["/api/auth/signup"]?.post?.requestBody);
    expect(signup).toContain('"password"');
    expect(signup).toContain('"minLength":8');
    expect(signup).toContain('"maxLength":256');
    expect(JSON.stringify(doc.paths["/api/notes"]?.get?.parameters)).toContain('"limit"');
  });
});
