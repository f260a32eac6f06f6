import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * `npm run dev`: the whole app offline, no AWS, no Docker. (`npm run preview`: the same with the
 * site's production build, see below.)
 * The API (which migrates PGlite under .data/ before it listens) on PORT (3000) with reload on
 * change, and Vite on WEB_PORT (5173) proxying /api to it. Ctrl-C stops both and waits for
 * them, so PGlite closes its files cleanly.
 */

const root = fileURLToPath(new URL("..", import.meta.url));
if (existsSync(path.join(root, ".env"))) process.loadEnvFile(path.join(root, ".env"));
// `npm run preview` (--preview): the production build of the site, under the security headers
// CloudFront sends, in front of the API run once (no reload).
const preview = process.argv.includes("--preview");
const apiPort = process.env.PORT ?? "3000";
const webPort = process.env.WEB_PORT ?? (preview ? "4173" : "5173");
// Both servers listen on loopback unless HOST says otherwise: offline stays on this machine.
const host = process.env.HOST || "127.0.0.1";
// Where this script reaches them: a wildcard address on loopback (as in packages/web/vite.config.ts).
const reachable =
  host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
const shown = host === "127.0.0.1" ? "localhost" : reachable;
const started = performance.now();

const resolve = createRequire(import.meta.url).resolve;
const children = new Map<string, ChildProcess>();
let stopping = false;

function start(name: string, args: string[], cwd: string) {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, HOST: host, PORT: apiPort, WEB_PORT: webPort, FORCE_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const prefix = `${name.padEnd(3)} │ `;
  for (const stream of [child.stdout, child.stderr]) {
    let partial = "";
    stream.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) process.stdout.write(`${prefix}${line}\n`);
    });
  }
  child.on("exit", (code, signal) => {
    children.delete(name);
    if (!stopping) {
      process.stdout.write(`${name} exited (${signal ?? code}); stopping the rest\n`);
      void stop(code ?? 1);
    } else if (children.size === 0) {
      process.exit(process.exitCode ?? 0);
    }
  });
  children.set(name, child);
}

/**
 * Ctrl-C in a terminal sends SIGINT to the whole process group, children included, and a second
 * signal makes `tsx watch` kill the API before PGlite has closed its files. So after SIGINT the
 * children get a grace period to stop on their own; anything else (SIGTERM, a child that died)
 * is passed on at once. Whatever still runs after 10 s is killed.
 */
async function stop(code: number, childrenSignalled = false) {
  if (stopping) return;
  stopping = true;
  process.exitCode = code;
  if (children.size === 0) process.exit(code);
  const signal = () => {
    for (const child of children.values()) child.kill("SIGTERM");
  };
  if (childrenSignalled) setTimeout(signal, 3_000).unref();
  else signal();
  setTimeout(() => {
    for (const child of children.values()) child.kill("SIGKILL");
    process.exit(code || 1);
  }, 10_000).unref();
}

process.on("SIGINT", () => void stop(0, true));
process.on("SIGTERM", () => void stop(0));

const web = path.join(root, "packages/web");
const vite = path.join(path.dirname(resolve("vite/package.json", { paths: [web] })), "bin/vite.js");
if (preview) {
  // The build first: nothing else runs yet, so it has nothing to stop if it fails.
  const build = spawn(process.execPath, [vite, "build", "--logLevel", "warn"], {
    cwd: web,
    stdio: "inherit",
  });
  const [code] = (await once(build, "exit")) as [number | null];
  if (code !== 0) process.exit(code ?? 1);
}
// `tsx watch` restarts the API when its source changes; the server migrates at each boot.
const server = "packages/core/src/server.ts";
start(
  "api",
  [resolve("tsx/cli"), ...(preview ? [server] : ["watch", "--clear-screen=false", server])],
  root,
);
start("web", preview ? [vite, "preview"] : [vite], web);

// Announce once the API answers ready (database reachable, migrations applied).
const readyURL = `http://${reachable}:${apiPort}/api/health/ready`;
while (!stopping) {
  const ok = await fetch(readyURL)
    .then((response) => response.ok)
    .catch(() => false);
  if (ok) {
    const ms = Math.round(performance.now() - started);
    process.stdout.write(
      `\n  Slipway is up (API ready in ${ms} ms)\n` +
        `  web  http://${shown}:${webPort}\n` +
        `  api  http://${shown}:${apiPort}/api/health\n\n`,
    );
    break;
  }
  await new Promise((wake) => setTimeout(wake, 100));
}
