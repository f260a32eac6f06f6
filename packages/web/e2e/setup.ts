import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { freePort, waitUntilOk } from "../../../scripts/net";
import { startSentryIngest } from "./sentry-ingest";

/**
 * Starts the whole app the way a developer does (`npm run dev`: API + worker + scheduler + Vite)
 * on free ports with a data directory of its own, for the e2e tests, and stops it afterwards;
 * and a second instance serving the production build (`npm run preview`), built with a site DSN
 * pointing at a loopback fake of Sentry's ingest, so it reports its errors there (ADR 031).
 */

/** The release the preview is built with, as a deploy tags the site's reports. */
export const E2E_RELEASE = "e2e-release";
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const root = fileURLToPath(new URL("../../..", import.meta.url));

declare module "vitest" {
  export interface ProvidedContext {
    baseURL: string;
    previewURL: string;
    /** Each app's embedded database directory: the CLIs (`npm run users`) reach it through its owner. */
    dataDirs: { dev: string; preview: string };
    /** The fake ingest the preview reports to (GET /events), and the DSN it was built with. */
    sentryIngestURL: string;
    sentryDsn: string;
  }
}

const dataDir = (data: string, script: "dev" | "preview") => path.join(data, script, "pglite");

/**
 * One instance of the app: `npm run dev` (Vite's dev server) or `npm run preview` (the production
 * build under the security headers CloudFront sends), with ports and data of its own.
 */
async function startApp(
  script: "dev" | "preview",
  data: string,
  extraEnv: Record<string, string> = {},
) {
  const [apiPort, webPort] = [await freePort(), await freePort()];
  const child = spawn("npm", ["run", script], {
    cwd: root,
    detached: true, // its own process group, stopped like a terminal's Ctrl-C
    stdio: ["ignore", "ignore", "inherit"],
    env: {
      ...process.env,
      PORT: String(apiPort),
      WEB_PORT: String(webPort),
      PGLITE_DIR: dataDir(data, script),
      STORAGE_DIR: path.join(data, script, "storage"),
      LOG_LEVEL: "warn",
      // A failing task becomes a dead letter after its 5 deliveries in ~10 s, not 2.5 minutes
      // (the console's e2e makes one fail on purpose).
      TASK_VISIBILITY_TIMEOUT_SECONDS: "2",
      ...extraEnv,
    },
  });
  await waitUntilOk(`http://127.0.0.1:${apiPort}/api/health/ready`, child, { intervalMs: 100 });
  await waitUntilOk(`http://localhost:${webPort}/`, child, { intervalMs: 100 });
  return {
    url: `http://localhost:${webPort}`,
    async stop() {
      if (child.pid && child.exitCode === null) {
        process.kill(-child.pid, "SIGINT");
        await new Promise((resolve) => child.once("exit", resolve));
      }
    },
  };
}

export async function setup(project: TestProject) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `No Chromium at ${CHROMIUM}. Install Debian's: sudo apt-get install chromium (or set CHROMIUM_PATH).`,
    );
  }
  const data = mkdtempSync(path.join(tmpdir(), "slipway-e2e-"));
  const ingest = await startSentryIngest();
  const started = await Promise.allSettled([
    startApp("dev", data, { SLIPWAY_WEB_SENTRY_DSN: "" }),
    startApp("preview", data, { SLIPWAY_WEB_SENTRY_DSN: ingest.dsn, SLIPWAY_RELEASE: E2E_RELEASE }),
  ]);
  const apps = started.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  const teardown = async () => {
    await Promise.all(apps.map((app) => app.stop()));
    await ingest.close();
    rmSync(data, { recursive: true, force: true });
  };
  const [dev, preview] = started;
  if (dev?.status !== "fulfilled" || preview?.status !== "fulfilled") {
    await teardown();
    throw started.find((result) => result.status === "rejected")?.reason;
  }
  project.provide("baseURL", dev.value.url);
  project.provide("previewURL", preview.value.url);
  project.provide("dataDirs", { dev: dataDir(data, "dev"), preview: dataDir(data, "preview") });
  project.provide("sentryIngestURL", ingest.url);
  project.provide("sentryDsn", ingest.dsn);
  return teardown;
}
