// @ts-check
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startApi } from "./dev/api.mjs";
import { shortRequestLine } from "./dev/request-line.mjs";

/**
 * `npm run dev`: the whole app offline, no AWS, no Docker. (`npm run preview`: the same with the
 * site's production build, see below.)
 * The API (which migrates PGlite under .data/ before it listens) on PORT (3000) with reload on
 * change, and Vite on WEB_PORT (5173) proxying /api to it, started side by side. Ctrl-C stops
 * both and waits for them, so PGlite closes its files cleanly.
 * The API runs from a kept esbuild bundle, rebuilt on change (dev/api.mjs, ADR 023). Plain
 * JavaScript typed by JSDoc (checked by `tsc -p scripts`), run by plain node: no tsx loader in
 * the way of every start (ADR 023).
 * @import { Api } from "./dev/api.mjs"
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

// The API seeds the demo account into an embedded database it creates (server.ts), unless
// SEED=false: on an absent or empty PGLITE_DIR, which is checked here before it starts.
const dataDir = process.env.PGLITE_DIR || path.join(root, ".data/pglite");
const seeding =
  !process.env.DATABASE_URL &&
  !dataDir.includes("://") &&
  !/^(false|0|no|off|n|disabled)$/i.test(process.env.SEED ?? "") &&
  (!existsSync(dataDir) || readdirSync(dataDir).length === 0);
/**
 * The seed's login, read only on a start that seeds (packages/core/src/seed/demo.ts reads the same
 * file): JSON, which this plain node script can read without loading the app's TypeScript.
 * @type {{ email: string, password: string } | undefined}
 */
const demoLogin = seeding
  ? JSON.parse(readFileSync(path.join(root, "packages/core/src/seed/demo-login.json"), "utf8"))
  : undefined;

const resolve = createRequire(import.meta.url).resolve;
/**
 * What stop() signals: Vite's process, and the API (whichever process of it runs now).
 * @typedef {{ kill(signal: NodeJS.Signals): void }} Running
 */
/** @type {Map<string, Running>} */
const children = new Map();
let stopping = false;
/** @type {Api | undefined} */
let api;
// DEV_TRACES: the API keeps recent traces for GET /api/dev/traces/:traceId (ADR 029).
const env = {
  DEV_TRACES: "true",
  ...process.env,
  HOST: host,
  PORT: apiPort,
  WEB_PORT: webPort,
  FORCE_COLOR: "1",
};

/**
 * Prefixes each line of a child's output with its name; `shorten` may rewrite a line first (the
 * API's request lines).
 * @param {string} name
 * @param {(line: string) => string} [shorten]
 */
function prefixed(name, shorten = (line) => line) {
  const prefix = `${name.padEnd(3)} │ `;
  const partial = { stdout: "", stderr: "" };
  /**
   * @param {"stdout" | "stderr"} stream
   * @param {Buffer} chunk
   */
  return (stream, chunk) => {
    const lines = (partial[stream] + chunk.toString()).split("\n");
    partial[stream] = lines.pop() ?? "";
    for (const line of lines) process.stdout.write(`${prefix}${shorten(line)}\n`);
  };
}

/**
 * @param {string} name
 * @param {number | null} code
 * @param {NodeJS.Signals | null} signal
 */
function exited(name, code, signal) {
  children.delete(name);
  if (!stopping) {
    process.stdout.write(`${name} exited (${signal ?? code}); stopping the rest\n`);
    void stop(code ?? 1);
  } else if (children.size === 0) {
    process.exit(process.exitCode ?? 0);
  }
}

/**
 * @param {string} name
 * @param {string[]} args
 * @param {string} cwd
 */
function start(name, args, cwd) {
  const child = spawn(process.execPath, args, {
    cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = prefixed(name);
  child.stdout?.on("data", (chunk) => output("stdout", chunk));
  child.stderr?.on("data", (chunk) => output("stderr", chunk));
  child.on("exit", (code, signal) => exited(name, code, signal));
  children.set(name, { kill: (signal) => child.kill(signal) });
}

/**
 * Ctrl-C in a terminal sends SIGINT to the whole process group, children included, so after
 * SIGINT the children get a grace period to stop on their own (the API closes PGlite's files
 * first); anything else (SIGTERM, a child that died) is passed on at once. Whatever still runs
 * after 10 s is killed.
 * @param {number} code
 * @param {boolean} [childrenSignalled]
 */
async function stop(code, childrenSignalled = false) {
  if (stopping) return;
  stopping = true;
  process.exitCode = code;
  if (children.size === 0) process.exit(code);
  // From here no change restarts the API; a Ctrl-C already reached it from the terminal.
  api?.stop();
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
  const [code] = /** @type {[number | null]} */ (await once(build, "exit"));
  if (code !== 0) process.exit(code ?? 1);
}
// The API first (its boot is what the developer waits for), Vite beside it. The API restarts
// when its source changes (dev) and migrates at each boot.
api = startApi({
  root,
  watch: !preview,
  env,
  output: prefixed("api", shortRequestLine),
  onExit: (code, signal) => exited("api", code, signal),
  note: (line) => process.stdout.write(`api │ ${line}\n`),
});
children.set("api", { kill: (signal) => api?.stop(signal) });
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
        `  api  http://${shown}:${apiPort}/api/health\n` +
        (demoLogin ? `  demo login  ${demoLogin.email} / ${demoLogin.password} (seeded)\n` : "") +
        "\n",
    );
    break;
  }
  await new Promise((wake) => setTimeout(wake, 100));
}
