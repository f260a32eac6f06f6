import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { type Api, startApi } from "../../../scripts/dev/api.mjs";
import { freePort } from "../../../scripts/net";
import { repoRoot } from "../src/config";

/**
 * `npm run dev`'s API runner (scripts/dev/api.mjs) keeps `tsx watch`'s reload: a change to a
 * source the API imports restarts it with the change; a build error or a crash waits for the next
 * change instead of stopping dev; unchanged sources start from the kept bundle without building.
 * On a scratch app of two files (the real one would take the dev server's data and ports).
 */

// The version is imported on first use, as the real server loads its heavy parts: the bundle is
// split, and it lands in a chunk of its own.
const SERVER = `import { createServer } from "node:http";
const server = createServer(async (request, response) => {
  if (request.url === "/crash") process.exit(3);
  response.end((await import("./version")).version);
}).listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
`;

function scratchApp() {
  const root = mkdtempSync(path.join(tmpdir(), "slipway-dev-reload-"));
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  const src = path.join(root, "packages/core/src");
  mkdirSync(src, { recursive: true });
  writeFileSync(path.join(src, "server.ts"), SERVER);
  // esbuild and the install stamps come from the repo's node_modules.
  symlinkSync(path.join(repoRoot, "node_modules"), path.join(root, "node_modules"));
  const setVersion = (code: string) => writeFileSync(path.join(src, "version.ts"), code);
  setVersion(`export const version: string = "one";`);
  return { root, setVersion };
}

async function run(root: string) {
  const port = await freePort();
  const notes: string[] = [];
  let ended: (code: number | null) => void = () => {};
  const exited = new Promise<number | null>((resolve) => {
    ended = resolve;
  });
  const api: Api = startApi({
    root,
    watch: true,
    env: { ...process.env, PORT: String(port) },
    output: () => {},
    onExit: (code) => ended(code),
    note: (line) => notes.push(line),
  });
  onTestFinished(async () => {
    api.stop("SIGTERM");
    await exited;
  });
  const url = `http://127.0.0.1:${port}/`;
  /** Resolves once the API answers `body` (each restart is a new process on the same port). */
  const serves = async (body: string) => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const text = await fetch(url).then(
        (response) => response.text(),
        () => undefined,
      );
      if (text === body) return;
      if (Date.now() > deadline) throw new Error(`never served ${body} (last: ${text}): ${notes}`);
      await new Promise((wake) => setTimeout(wake, 50));
    }
  };
  const noteSeen = async (pattern: RegExp) => {
    const deadline = Date.now() + 15_000;
    while (!notes.some((line) => pattern.test(line))) {
      if (Date.now() > deadline) throw new Error(`no note ${pattern}: ${notes}`);
      await new Promise((wake) => setTimeout(wake, 50));
    }
  };
  return { api, url, notes, exited, serves, noteSeen };
}

describe("npm run dev's API runner", () => {
  it("reloads on a change to an imported source; a build error and a crash wait for the next change", {
    timeout: 60_000,
  }, async () => {
    const app = scratchApp();
    const dev = await run(app.root);
    await dev.serves("one");
    expect(dev.notes).toContain("bundling src/server.ts");

    app.setVersion(`export const version: string = "two";`);
    await dev.serves("two");

    // A syntax error: the build fails, said once, and the API is down until it is fixed.
    app.setVersion(`export const version: string = "three`);
    await dev.noteSeen(/build failed/);
    expect(
      await fetch(dev.url).then(
        () => "answered",
        () => "down",
      ),
    ).toBe("down");
    app.setVersion(`export const version: string = "three";`);
    await dev.serves("three");

    // A crash does not stop dev: the next change starts it again.
    await fetch(`${dev.url}crash`).catch(() => undefined);
    await dev.noteSeen(/exited \(3\); restarting on the next change/);
    app.setVersion(`export const version: string = "four";`);
    await dev.serves("four");

    dev.api.stop("SIGTERM");
    expect(await dev.exited).toBe(0);
  });

  it("starts from the kept bundle when no source changed, and rebuilds when one did or a chunk of it is gone", {
    timeout: 60_000,
  }, async () => {
    const app = scratchApp();
    const first = await run(app.root);
    await first.serves("one");
    first.api.stop("SIGTERM");
    await first.exited;

    const second = await run(app.root);
    await second.serves("one");
    expect(second.notes).not.toContain("bundling src/server.ts");
    second.api.stop("SIGTERM");
    await second.exited;

    // A chunk of the kept bundle is gone: the next start builds again rather than run a bundle
    // that would fail on first use.
    const dir = path.join(app.root, ".data/cache/api");
    const chunks = readdirSync(dir).filter((name) => /^chunk-.*\.mjs$/.test(name));
    expect(chunks.length).toBeGreaterThan(0);
    for (const chunk of chunks) rmSync(path.join(dir, chunk));
    const rebuilt = await run(app.root);
    await rebuilt.serves("one");
    expect(rebuilt.notes).toContain("bundling src/server.ts");
    rebuilt.api.stop("SIGTERM");
    await rebuilt.exited;

    // Edited while no dev server ran: the next start sees it.
    app.setVersion(`export const version: string = "edited";`);
    const third = await run(app.root);
    await third.serves("edited");
    expect(third.notes).toContain("bundling src/server.ts");
  });
});
