import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";

/** A loopback port free right now (the OS picks it), for a server started next. */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

/**
 * Polls `url` until it answers 2xx. Fails as soon as `child` (the process meant to serve it)
 * exits, or after `timeoutMs`.
 */
export async function waitUntilOk(
  url: string,
  child: ChildProcess,
  { intervalMs = 50, timeoutMs = 60_000 }: { intervalMs?: number; timeoutMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`the server exited (${child.exitCode}) before ${url} answered`);
    const ok = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((wake) => setTimeout(wake, intervalMs));
  }
}
