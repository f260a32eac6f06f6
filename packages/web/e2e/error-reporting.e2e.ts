import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freePort, waitUntilOk } from "../../../scripts/net";
import { contentSecurityPolicy, errorReportingOrigins } from "../security-headers";
import { launchChromium } from "./browser";
import type { IngestedEvent } from "./sentry-ingest";
import { E2E_RELEASE } from "./setup";

/**
 * Errors from the browser (ADR 031), in Chromium under the production headers: the preview
 * (setup.ts) is built with a DSN for a loopback fake ingest; a page error, an unhandled
 * rejection, a 5xx from the API and a call without an answer arrive there, scrubbed, with the
 * release and the failing request's trace id, and the CSP lets them through (and nothing else).
 * Then a build without a DSN: nothing of Sentry is loaded and its CSP names no ingest.
 */

const previewURL = inject("previewURL");
const ingestURL = inject("sentryIngestURL");
const dsn = inject("sentryDsn");
const EMAIL = "planted.person@example.com";
const TOKEN = "Kq3vX9pL2mN8rT5wY7zA1bC4dE6fG0hJ";

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(() => browser?.close());

async function events(): Promise<IngestedEvent[]> {
  return (await fetch(`${ingestURL}/events`)).json() as Promise<IngestedEvent[]>;
}

/** A page that records every CSP violation and every request's origin, from its first script. */
async function watchedPage(url: string) {
  const context = await browser.newContext({ baseURL: url });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const violations: string[] = [];
  const requested: string[] = [];
  await page.exposeFunction("reportViolation", (v: string) => violations.push(v));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) =>
      (window as unknown as { reportViolation(v: string): void }).reportViolation(
        `${event.effectiveDirective} ${event.blockedURI}`,
      ),
    );
  });
  page.on("request", (request) => requested.push(request.url()));
  return { context, page, violations, requested };
}

const sdkLoaded = (page: Page) =>
  page.waitForResponse((response) => /\/assets\/sentry-[^/]*\.js$/.test(response.url()));

describe("errors from the browser, under the production headers", () => {
  it("a page error, a rejection, a 5xx (with its trace id) and a network failure reach the ingest, scrubbed, with the release", async () => {
    await fetch(`${ingestURL}/events`, { method: "DELETE" });
    const { context, page, violations, requested } = await watchedPage(previewURL);

    // The API answers /api/auth/me for real; the browser sees it as a 503 with the API's own
    // headers, x-trace-id included.
    let traceId: string | undefined;
    await page.route("**/api/auth/me", async (route) => {
      const response = await route.fetch();
      traceId = response.headers()["x-trace-id"];
      await route.fulfill({ response, status: 503, body: "{}" });
    });
    const loaded = sdkLoaded(page);
    const response = await page.goto(`/login?email=${EMAIL}&token=${TOKEN}`);
    expect(response?.headers()["content-security-policy"]).toBe(
      contentSecurityPolicy(errorReportingOrigins(dsn)),
    );
    await loaded; // after the first render, not before
    await page.evaluate(
      ([email, token]) => {
        setTimeout(() => {
          throw new Error(`planted page error for ${email} at /reset-password?token=${token}`);
        });
        void Promise.reject(new Error(`planted rejection, "a note's secret text"`));
      },
      [EMAIL, TOKEN],
    );
    await expect
      .poll(async () => (await events()).length, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(3);

    // A call that gets no answer at all.
    await page.unroute("**/api/auth/me");
    await page.route("**/api/auth/me", (route) => route.abort("failed"));
    await page.reload();
    await expect
      .poll(async () => (await events()).some((e) => e.event.tags?.kind === "network"), {
        timeout: 15_000,
      })
      .toBe(true);

    const received = await events();
    const byKind = (kind: string) => received.filter((e) => e.event.tags?.kind === kind);
    const [uncaught] = byKind("uncaught");
    const [rejection] = byKind("unhandled-rejection");
    const [api] = byKind("api");
    const [network] = byKind("network");

    expect(uncaught?.event.exception?.values?.[0]?.value).toBe(
      "planted page error for [email] at /reset-password",
    );
    expect(rejection?.event.exception?.values?.[0]?.value).toBe('planted rejection, "[text]"');

    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(api?.event.tags).toMatchObject({
      kind: "api",
      method: "GET",
      route: "/api/auth/me",
      status: "503",
      trace_id: traceId,
    });
    expect(api?.event.contexts?.trace?.trace_id).toBe(traceId);
    expect(api?.event.exception?.values?.[0]).toMatchObject({
      type: "ApiFailure",
      value: "GET /api/auth/me answered 503",
    });
    expect(network?.event.tags).toMatchObject({
      kind: "network",
      method: "GET",
      route: "/api/auth/me",
    });

    for (const { event, raw, items } of received) {
      expect(event.release).toBe(E2E_RELEASE);
      expect(items).toEqual(["event"]); // no sessions, no client reports
      expect(event.user).toBeUndefined();
      expect(event.breadcrumbs).toBeUndefined();
      expect(event.request?.headers).toBeUndefined();
      for (const planted of [EMAIL, TOKEN, "secret text", "token=", "slipway_session"])
        expect(raw, planted).not.toContain(planted);
    }
    // Reports went to the ingest only, and the CSP let them (and blocked nothing).
    const origins = new Set(requested.map((url) => new URL(url).origin));
    expect([...origins].sort()).toEqual([new URL(previewURL).origin, ingestURL].sort());
    expect(violations).toEqual([]);
    await context.close();
  });
});

describe("a build without a DSN", () => {
  const web = fileURLToPath(new URL("..", import.meta.url));
  const vite = path.join(
    path.dirname(createRequire(import.meta.url).resolve("vite/package.json", { paths: [web] })),
    "bin/vite.js",
  );
  const out = mkdtempSync(path.join(tmpdir(), "slipway-site-nodsn-"));
  let stop = async () => {};
  afterAll(async () => {
    await stop();
    rmSync(out, { recursive: true, force: true });
  });

  it("loads nothing of Sentry, sends nothing anywhere but its origin, and its CSP names no ingest", async () => {
    const env = { ...process.env, SLIPWAY_WEB_SENTRY_DSN: "" };
    const build = spawnSync(
      process.execPath,
      [vite, "build", "--outDir", out, "--emptyOutDir", "--logLevel", "warn"],
      { cwd: web, encoding: "utf8", env },
    );
    expect(build.status, build.stderr).toBe(0);
    // `vite preview` as `npm run preview` runs it, on this build (no API behind it: its calls fail).
    // PORT: where its /api proxy points, a free port nothing listens on (not a running API).
    const [port, noApi] = [await freePort(), await freePort()];
    const child = spawn(
      process.execPath,
      [vite, "preview", "--outDir", out, "--port", String(port), "--strictPort"],
      {
        cwd: web,
        env: { ...env, WEB_PORT: String(port), PORT: String(noApi) },
        detached: true,
        stdio: "ignore",
      },
    );
    stop = async () => {
      if (child.pid && child.exitCode === null) {
        process.kill(-child.pid, "SIGTERM");
        await new Promise((resolve) => child.once("exit", resolve));
      }
    };
    const url = `http://localhost:${port}`;
    await waitUntilOk(`${url}/`, child, { intervalMs: 100 });

    const before = (await events()).length;
    const { context, page, violations, requested } = await watchedPage(url);
    const response = await page.goto("/login");
    expect(response?.headers()["content-security-policy"]).toBe(contentSecurityPolicy());
    await page.waitForFunction(() => (document.getElementById("root")?.childElementCount ?? 0) > 0);
    await page.evaluate(() => {
      setTimeout(() => {
        throw new Error("nobody hears this");
      });
    });
    // The page is idle and has thrown: whatever it would load or send, it would have by now.
    await page.waitForLoadState("networkidle");
    expect(requested.filter((r) => /sentry/i.test(r))).toEqual([]);
    expect([...new Set(requested.map((r) => new URL(r).origin))]).toEqual([url]);
    const scripts = readdirSync(path.join(out, "assets")).filter((f) => f.endsWith(".js"));
    for (const file of scripts)
      expect(readFileSync(path.join(out, "assets", file), "utf8")).not.toMatch(/sentry/i);
    expect((await events()).length).toBe(before);
    expect(violations).toEqual([]);
    await context.close();
  });
});
