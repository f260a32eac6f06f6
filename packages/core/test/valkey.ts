import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

/**
 * A throwaway Redis (Debian's `redis-server`, which speaks the protocol Valkey does) on a free
 * loopback port with a temp dir and no persistence, like scripts/throwaway-postgres.sh does for
 * Postgres. `stop()` kills it and deletes the dir. CI installs the package (.ci/run).
 */
export interface ThrowawayValkey {
  url: string;
  /** The server's process id (bench/cache.ts reads its CPU time). */
  pid: number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

export async function startValkey(): Promise<ThrowawayValkey> {
  const dir = mkdtempSync(path.join(tmpdir(), "slipway-valkey-"));
  const port = await freePort();
  const server = spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      "no",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));
  let output = "";
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) =>
      reject(
        new Error(`redis-server did not start (install Debian's redis-server): ${error.message}`),
      ),
    );
    server.once("exit", (code) => reject(new Error(`redis-server exited (${code}): ${output}`)));
    server.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Ready to accept connections")) resolve();
    });
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: server.pid ?? 0,
    async stop() {
      server.kill("SIGKILL");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
