import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, waitUntilOk } from "../net";

/**
 * What the drills share: a throwaway Postgres they can stop and start, the API as a child process
 * (with its RSS sampled every second), an HTTP client that records every request's status and
 * latency, and a load loop of N connections that each send one request after another.
 */

export const root = fileURLToPath(new URL("../..", import.meta.url));
export const bundle = path.join(root, "packages/core/dist/server.mjs");

export const sleep = (ms: number) => new Promise<void>((wake) => setTimeout(wake, ms));
export const now = () => performance.now();

// ---------------------------------------------------------------- what a drill reports

export interface Check {
  what: string;
  held: boolean;
  /** What was measured. */
  detail: string;
}

export interface DrillReport {
  name: string;
  requests: number;
  statuses: string;
  maxLatencyMs: number | undefined;
  maxRssMb: number | undefined;
  checks: Check[];
  /** The servers whose output is shown when a check failed. */
  logs: { label: string; server: Server }[];
}

export const check = (what: string, held: boolean, detail: string): Check => ({
  what,
  held,
  detail,
});

// ---------------------------------------------------------------- child processes

const processes = new Set<ChildProcess>();
const temporary: string[] = [];

/** Kills every server still running (a drill that threw, Ctrl-C) and deletes their temp dirs. */
export function killAll() {
  for (const child of processes) if (child.exitCode === null) child.kill("SIGKILL");
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: root, encoding: "utf8" }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(" ")}: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

// ---------------------------------------------------------------- Postgres

export interface Postgres {
  url: string;
  dir: string;
  /** `pg_ctl stop -m fast`: backends are terminated, clients see their connections drop. */
  stop(): Promise<void>;
  /** Starts it again with the options it was first started with (its postmaster.opts). */
  start(): Promise<void>;
  /** Stops it and deletes its directory. */
  remove(): Promise<void>;
}

/** A throwaway Postgres from scripts/throwaway-postgres.sh, which the drills may restart. */
export async function startPostgres(): Promise<Postgres> {
  const script = path.join(root, "scripts/throwaway-postgres.sh");
  const printed = await run(script, []);
  const url = /TEST_DATABASE_URL=(\S+)/.exec(printed)?.[1];
  const dir = /PG_THROWAWAY_DIR=(\S+)/.exec(printed)?.[1];
  if (!url || !dir) throw new Error(`unexpected output of ${script}: ${printed}`);
  const data = path.join(dir, "data");
  // Postgres's own record of its command line, as `pg_ctl restart` reuses it: the binary, then
  // the quoted options the script gave (port, socket directory, listen address, settings).
  const opts = readFileSync(path.join(data, "postmaster.opts"), "utf8").trim();
  const split = opts.indexOf(' "');
  const pgCtl = path.join(path.dirname(opts.slice(0, split)), "pg_ctl");
  const options = opts.slice(split + 1);
  // As root the script runs the server as `postgres` (Postgres refuses root); so do we.
  const asOwner = (args: string[]) =>
    process.getuid?.() === 0
      ? run("runuser", ["-u", "postgres", "--", pgCtl, ...args])
      : run(pgCtl, args);
  return {
    url,
    dir,
    stop: async () => {
      await asOwner(["-D", data, "-m", "fast", "-w", "stop"]);
    },
    start: async () => {
      await asOwner(["-D", data, "-l", path.join(dir, "log"), "-w", "-o", options, "start"]);
    },
    remove: async () => {
      await run(script, ["stop", dir]);
    },
  };
}

// ---------------------------------------------------------------- the API

export interface Server {
  child: ChildProcess;
  pid: number;
  port: number;
  origin: string;
  /** Everything it printed (stdout and stderr). */
  output(): string;
  /** Resolves when it has exited, with its code and when (performance.now()). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Highest VmRSS seen, sampled every second while it runs (MB). */
  maxRssMb(): number | undefined;
  /** Polls /api/health/ready until 200. */
  ready(timeoutMs?: number): Promise<void>;
}

/**
 * Starts `node <args>` from the repo root with `env` on top of this process's environment.
 * `args` defaults to the production bundle.
 */
export async function startServer(
  env: Record<string, string>,
  { args = [bundle], port }: { args?: string[]; port?: number } = {},
): Promise<Server> {
  const chosen = port ?? (await freePort());
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(chosen),
      LOG_LEVEL: "warn",
      // One user writes at 50 connections: the drills measure durability, not the per-user quotas.
      QUOTA_WRITES_PER_MINUTE: "1000000",
      QUOTA_NOTES_PER_USER: "10000000",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  processes.add(child);
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>(
    (resolve) => {
      child.on("exit", (code, signal) => {
        processes.delete(child);
        resolve({ code, signal, at: now() });
      });
    },
  );
  const pid = child.pid as number;
  let maxRss: number | undefined;
  const sample = async () => {
    const kb = await rssKb(pid);
    if (kb !== undefined && child.exitCode === null) maxRss = Math.max(maxRss ?? 0, kb / 1024);
  };
  void sample();
  const sampler = setInterval(() => void sample(), 1000);
  void exited.then(() => clearInterval(sampler));
  return {
    child,
    pid,
    port: chosen,
    origin: `http://localhost:${chosen}`,
    output: () => output,
    exited,
    maxRssMb: () => maxRss,
    ready: (timeoutMs = 60_000) =>
      waitUntilOk(`http://127.0.0.1:${chosen}/api/health/ready`, child, { timeoutMs }),
  };
}

/** The bundle on `pg`, as the container runs it, with its object store in a temp dir. */
export function startApi(pg: Postgres, port?: number): Promise<Server> {
  const storage = mkdtempSync(path.join(tmpdir(), "slipway-drill-storage-"));
  temporary.push(storage);
  return startServer(
    { DATABASE_URL: pg.url, MIGRATE_ON_BOOT: "true", STORAGE_DIR: storage },
    { port },
  );
}

/** Resident set size of `pid` in kB: /proc on Linux, `ps` elsewhere. */
async function rssKb(pid: number): Promise<number | undefined> {
  const status = `/proc/${pid}/status`;
  if (existsSync(status)) {
    try {
      const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(status, "utf8"));
      return match ? Number(match[1]) : undefined;
    } catch {
      return undefined; // it exited between the check and the read
    }
  }
  const printed = await run("ps", ["-o", "rss=", "-p", String(pid)]).catch(() => "");
  return printed.trim() ? Number(printed.trim()) : undefined;
}

/** Waits for the exit of `server`, failing after `timeoutMs`. */
export async function exitOf(server: Server, timeoutMs = 35_000) {
  const timeout = sleep(timeoutMs).then(() => undefined);
  return Promise.race([server.exited, timeout]);
}

// ---------------------------------------------------------------- HTTP

export interface Result {
  op: string;
  /** performance.now() when it was sent and when it settled. */
  start: number;
  end: number;
  ms: number;
  /** The response's status, when there was one. */
  status?: number;
  /** The error code of a JSON error body (`database_unavailable`). */
  code?: string;
  retryAfter?: string;
  /** A request that got no response: the socket error's code (ECONNRESET, ECONNREFUSED…). */
  error?: string;
  /** The created note's id (a 201 of POST /api/notes). */
  id?: string;
  body?: unknown;
}

const REQUEST_TIMEOUT_MS = 30_000;

/** Requests to one server over keep-alive connections (one per concurrent request). */
export class Client {
  readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  cookie = "";

  constructor(readonly server: Pick<Server, "port" | "origin">) {}

  request(op: string, method: string, url: string, body?: unknown): Promise<Result> {
    const start = now();
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { origin: this.server.origin };
    if (this.cookie) headers.cookie = this.cookie;
    if (payload !== undefined) headers["content-type"] = "application/json";
    return new Promise((resolve) => {
      let settled = false;
      const settle = (result: Omit<Result, "op" | "start" | "end" | "ms">) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const end = now();
        resolve({ op, start, end, ms: end - start, ...result });
      };
      const request = http.request(
        {
          host: "127.0.0.1",
          port: this.server.port,
          method,
          path: url,
          headers,
          agent: this.agent,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", (error: NodeJS.ErrnoException) =>
            settle({ error: error.code ?? error.message }),
          );
          response.on("end", () => {
            const status = response.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: unknown;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              parsed = text;
            }
            const json = parsed as
              | { error?: { code?: string }; note?: { id?: string } }
              | undefined;
            const cookie = response.headers["set-cookie"]?.[0]?.split(";")[0];
            if (cookie) this.cookie = cookie;
            const retryAfter = response.headers["retry-after"];
            settle({
              status,
              body: parsed,
              ...(json?.error?.code ? { code: json.error.code } : {}),
              ...(retryAfter ? { retryAfter } : {}),
              ...(status === 201 && json?.note?.id ? { id: json.note.id } : {}),
            });
          });
        },
      );
      const timer = setTimeout(
        () => request.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })),
        REQUEST_TIMEOUT_MS,
      );
      request.on("error", (error: NodeJS.ErrnoException) =>
        settle({ error: error.code ?? error.message }),
      );
      request.end(payload);
    });
  }

  close() {
    this.agent.destroy();
  }
}

/** Signs up a new user (the client keeps its session cookie); returns the user's id. */
export async function signup(client: Client, name: string): Promise<string> {
  const email = `drill-${name}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const result = await client.request("signup", "POST", "/api/auth/signup", {
    email,
    password: "a strong drill password",
    name: "Drill",
  });
  const id = (result.body as { user?: { id?: string } } | undefined)?.user?.id;
  if (result.status !== 201 || !id) {
    throw new Error(
      `signup answered ${result.status ?? result.error}: ${JSON.stringify(result.body)}`,
    );
  }
  return id;
}

let written = 0;
export const write = (client: Client) =>
  client.request("write", "POST", "/api/notes", {
    title: `drill note ${++written}`,
    body: "written under load",
  });

/** Writes `count` notes for the signed-in client (what the load reads); their ids. */
export async function seedNotes(client: Client, count = 20): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const seeded = await write(client);
    if (seeded.id) ids.push(seeded.id);
  }
  return ids;
}

/**
 * The mixed load: 40% reads of a note by id, 30% lists, 30% writes. Acknowledged writes feed
 * the reads.
 */
export function mixed(client: Client, ids: string[]) {
  return async () => {
    const roll = Math.random();
    if (roll < 0.4 && ids.length > 0) {
      const id = ids[Math.floor(Math.random() * ids.length)];
      return client.request("read", "GET", `/api/notes/${id}`);
    }
    if (roll < 0.7) return client.request("list", "GET", "/api/notes?limit=20");
    const result = await write(client);
    if (result.id) ids.push(result.id);
    return result;
  };
}

// ---------------------------------------------------------------- the load loop

export interface Load {
  results: Result[];
  /** Stops sending; resolves when every connection's last request has settled. */
  stop(): Promise<Result[]>;
}

/**
 * `connections` loops, each sending `next()` as soon as its previous request settled. A request
 * that got no response is followed by a 50 ms pause, so a server that is gone is not spun on.
 */
export function startLoad(connections: number, next: () => Promise<Result>): Load {
  const results: Result[] = [];
  let stopped = false;
  const loops = Array.from({ length: connections }, async () => {
    while (!stopped) {
      const result = await next();
      results.push(result);
      if (result.error) await sleep(50);
    }
  });
  return {
    results,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      return results;
    },
  };
}

// ---------------------------------------------------------------- summaries

/** `200:1234 201:567 503:12 ECONNRESET:3`, most frequent first. */
export function statuses(results: Result[]): string {
  const counts = new Map<string, number>();
  for (const result of results) {
    const key = result.status ? String(result.status) : (result.error ?? "?");
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([key, count]) => `${key}: ${count}`)
    .join(", ");
}

/** The slowest request that was answered (ms). */
export function maxLatency(results: Result[]): number | undefined {
  const answered = results.filter((result) => result.status !== undefined);
  return answered.length > 0 ? Math.max(...answered.map((result) => result.ms)) : undefined;
}

export const percentile = (results: Result[], p: number): number => {
  const sorted = results.map((result) => result.ms).sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
};

export const is2xx = (result: Result) =>
  result.status !== undefined && result.status >= 200 && result.status < 300;

/** The first few results matching, for a failed check's detail. */
export function examples(results: Result[], count = 3, since?: number): string {
  return results
    .slice(0, count)
    .map((result) => {
      const when = since === undefined ? "" : ` sent at ${Math.round(result.start - since)} ms`;
      const answer = `${result.status ?? result.error}${result.code ? ` ${result.code}` : ""}`;
      return `${result.op} ${answer} in ${Math.round(result.ms)} ms${when}`;
    })
    .join("; ");
}

/**
 * For a failed drill: writes everything `server` printed to a file in the temp dir and returns
 * its path with the last lines (each cut at 300 characters).
 */
export function serverLog({ label, server }: { label: string; server: Server }): string {
  const file = path.join(
    tmpdir(),
    `slipway-drill-${label.replaceAll(/\W+/g, "-")}-${server.pid}.log`,
  );
  writeFileSync(file, server.output());
  const last = server
    .output()
    .trimEnd()
    .split("\n")
    .slice(-10)
    .map((line) => (line.length > 300 ? `${line.slice(0, 300)}…` : line));
  return `${label} (pid ${server.pid}), all of it in ${file}, ends:\n${last.join("\n") || "(nothing)"}`;
}

export const ms = (value: number | undefined) =>
  value === undefined ? "n/a" : `${Math.round(value)} ms`;
export const mb = (value: number | undefined) =>
  value === undefined ? "n/a" : `${Math.round(value)} MB`;
