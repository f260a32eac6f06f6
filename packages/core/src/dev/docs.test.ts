import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import "../../test/app";
import { bootApp } from "../../test/database";
import { app } from "../api";
import { DOCS_CSP, REDOC_SCRIPT_PATH } from "./docs.routes";

// The SST links of a deployed stage, for the app one test boots (mail.test.ts does the same): the
// App link alone makes a stage deployed. This file's own app, loaded before, has none.
const links = vi.hoisted(() => ({}) as Record<string, unknown>);
vi.mock("sst/resource", () => ({ Resource: links }));

const BASE = "http://localhost:3000";
const get = (path: string, target: { request: typeof app.request } = app) =>
  target.request(`${BASE}${path}`);

/** Every URL the page names (attributes that load or link something), as written. */
function urlsIn(html: string): string[] {
  return [...html.matchAll(/\s(?:src|href|spec-url|action|srcset|data|poster)\s*=\s*"([^"]*)"/gi)]
    .map((match) => match[1] ?? "")
    .concat([...html.matchAll(/url\(([^)]*)\)/gi)].map((match) => match[1] ?? ""));
}

/** The CSP as directive → sources. */
function directives(policy: string): Map<string, string[]> {
  return new Map(
    policy
      .split(";")
      .map((part) => part.trim().split(/\s+/))
      .filter((words) => words[0])
      .map(([name = "", ...sources]) => [name, sources]),
  );
}

describe("the API reference at /api/docs (offline)", () => {
  it("is an HTML page that loads Redoc from this API and renders the live document", async () => {
    const response = await get("/api/docs");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html\b/);
    const html = await response.text();
    expect(html).toContain('<redoc spec-url="/api/openapi.json"></redoc>');
    expect(html).toContain(`<script src="${REDOC_SCRIPT_PATH}"></script>`);
    // What it points at answers: the document, and the script (below).
    expect((await get("/api/openapi.json")).status).toBe(200);
  });

  it("names only same-origin URLs, holds no inline script and answers the same whatever the request carries", async () => {
    const html = await (await get("/api/docs")).text();
    const urls = urlsIn(html);
    for (const url of urls) {
      // The empty icon is inline; everything else a path on this origin, never `//host`.
      if (url === "data:,") continue;
      expect(url, url).toMatch(/^\/[^/\\]/);
      expect(new URL(url, BASE).origin, url).toBe(BASE);
    }
    expect(urls.filter((url) => url !== "data:,").length).toBeGreaterThanOrEqual(2);
    for (const [, body] of html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/gi)) {
      expect(body?.trim()).toBe("");
    }
    expect(html).not.toMatch(/\son\w+\s*=/i);
    // No part of the request reaches the page (no reflected input, so no XSS through it).
    const probe = '"><script>alert(1)</script>';
    const crafted = await app.request(`${BASE}/api/docs?q=${encodeURIComponent(probe)}`, {
      headers: { referer: probe, "user-agent": probe },
    });
    expect(await crafted.text()).toBe(html);
  });

  it("sends a CSP that allows this origin only: scripts from 'self', nothing from any other host", async () => {
    for (const path of ["/api/docs", REDOC_SCRIPT_PATH]) {
      const policy = (await get(path)).headers.get("content-security-policy");
      expect(policy, path).toBe(DOCS_CSP);
    }
    const csp = directives(DOCS_CSP);
    expect(csp.get("default-src")).toEqual(["'none'"]);
    expect(csp.get("script-src")).toEqual(["'self'"]);
    expect(csp.get("connect-src")).toEqual(["'self'"]);
    expect(csp.get("frame-ancestors")).toEqual(["'none'"]);
    expect(csp.get("base-uri")).toEqual(["'none'"]);
    // The exceptions Redoc needs are keywords and local schemes, never an origin.
    const allowed = new Set(["'self'", "'none'", "'unsafe-inline'", "data:", "blob:"]);
    for (const [name, sources] of csp) {
      for (const source of sources) expect(allowed.has(source), `${name} ${source}`).toBe(true);
    }
    expect([...csp].filter(([, s]) => s.includes("'unsafe-inline'")).map(([n]) => n)).toEqual([
      "style-src",
    ]);
  });

  it("serves Redoc's standalone bundle, as installed, as JavaScript", async () => {
    const response = await get(REDOC_SCRIPT_PATH);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/javascript\b/);
    const installed = createRequire(import.meta.url).resolve("redoc/bundles/redoc.standalone.js");
    expect(await response.text()).toBe(readFileSync(installed, "utf8"));
  });
});

describe("the API reference on a deployed stage", () => {
  it("does not exist: the page and its script are 404 with the error envelope", async () => {
    links.App = { name: "slipway", stage: "production" };
    onTestFinished(() => {
      delete links.App;
    });
    const booted = await bootApp({});
    expect(booted.config.deployed).toBe(true);
    for (const path of ["/api/docs", REDOC_SCRIPT_PATH]) {
      const response = await get(path, booted.app);
      expect(response.status, path).toBe(404);
      expect(response.headers.get("content-security-policy"), path).toBeNull();
      expect(await response.json(), path).toEqual({
        error: { code: "not_found", message: `No route for GET ${path}` },
      });
    }
  });
});
