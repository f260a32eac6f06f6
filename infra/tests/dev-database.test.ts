import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import postgres from "postgres";
import { describe, expect, it, onTestFinished } from "vitest";

/**
 * `sst dev`'s EmbeddedDatabase dev command (scripts/dev-database.ts, infra/database.ts) for real:
 * it owns a PGlite directory, serves it on the port it is given, a second one is refused naming
 * the first, and a stop closes its files (exit 0). What the API's DATABASE_URL under `sst dev`
 * points at (the graph test checks the URL; this, that something answers there).
 */

const root = path.resolve(import.meta.dirname, "../..");

async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function start(dataDir: string, port: number) {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/dev-database.ts"], {
    cwd: root,
    env: { ...process.env, PGLITE_DIR: dataDir, PGLITE_PORT: String(port), DATABASE_URL: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const exited = once(child, "exit") as Promise<[number | null]>;
  const printed = async (text: string) => {
    while (!output.includes(text)) {
      const done = await Promise.race([
        exited.then(() => true),
        new Promise((r) => setTimeout(r, 50, false)),
      ]);
      if (done && !output.includes(text))
        throw new Error(`exited without printing ${text}:\n${output}`);
    }
  };
  return { child, exited, printed, output: () => output };
}

describe("sst dev's embedded database", () => {
  it("serves the embedded database on its port, refuses a second owner, and stops cleanly", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "slipway-dev-db-"));
    const port = await freePort();
    const children: ChildProcess[] = [];
    onTestFinished(() => {
      for (const child of children) child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    });
    const dataDir = path.join(dir, "pglite");
    const first = start(dataDir, port);
    children.push(first.child);
    await first.printed(`Listening on postgres://postgres@127.0.0.1:${port}/postgres`);

    const client = postgres(`postgres://postgres:postgres@127.0.0.1:${port}/postgres`, { max: 1 });
    const [row] = await client<{ one: number }[]>`select 1 as one`;
    expect(row?.one).toBe(1);
    await client.end();

    const second = start(dataDir, await freePort());
    children.push(second.child);
    const [code] = await second.exited;
    expect(code).toBe(1);
    expect(second.output()).toContain(`is already open in process ${first.child.pid}`);

    first.child.kill("SIGTERM");
    const [stopped] = await first.exited;
    expect(stopped).toBe(0);
  }, 120_000);
});
