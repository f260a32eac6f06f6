import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  Client,
  check,
  type DrillReport,
  exitOf,
  maxLatency,
  type Result,
  type Server,
  startServer,
  statuses,
  write,
} from "./lib";

/**
 * (e) Two dev servers on one data directory (ADR 015): the dev
 * server from source on PGlite in a temp dir. A second one is refused at once (exit 1) naming the
 * first one's pid while 20 writes are acknowledged; the first is killed with kill -9; a restart
 * takes over its stale owner record and finds all 20.
 */

const WRITES = 20;
const credentials = { email: "drill-owner@example.com", password: "a strong drill password" };

export async function twoOwners(): Promise<DrillReport> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "slipway-drill-owner-"));
  const dev = () =>
    startServer(
      {
        DATABASE_URL: "",
        PGLITE_DIR: path.join(dataDir, "pglite"),
        STORAGE_DIR: path.join(dataDir, "storage"),
        MIGRATE_ON_BOOT: "true",
      },
      { args: ["--import", "tsx", "packages/core/src/server.ts"] },
    );
  const servers: Server[] = [];
  try {
    const first = await dev();
    servers.push(first);
    await first.ready();
    const client = new Client(first);
    const results: Result[] = [];
    results.push(
      await client.request("signup", "POST", "/api/auth/signup", { ...credentials, name: "D" }),
    );

    const second = await dev();
    servers.push(second);
    // Writes go on while the second one tries to start.
    results.push(...(await Promise.all(Array.from({ length: WRITES }, () => write(client)))));
    client.close();
    const secondExit = await exitOf(second, 60_000);
    const acknowledged = results.filter((r) => r.op === "write" && r.id).map((r) => r.id);

    first.child.kill("SIGKILL");
    await first.exited;
    const third = await dev();
    servers.push(third);
    await third.ready();
    const reader = new Client(third);
    results.push(await reader.request("login", "POST", "/api/auth/login", credentials));
    const list = await reader.request("list", "GET", "/api/notes?limit=100");
    results.push(list);
    reader.close();
    const listed = new Set(
      ((list.body as { notes?: { id: string }[] } | undefined)?.notes ?? []).map((note) => note.id),
    );
    const found = acknowledged.filter((id) => id && listed.has(id)).length;
    third.child.kill("SIGTERM");
    const thirdExit = await exitOf(third);
    const refusal = second.output();

    return {
      name: "(e) two dev servers on one PGlite directory",
      requests: results.length,
      statuses: statuses(results),
      maxLatencyMs: maxLatency(results),
      maxRssMb: first.maxRssMb(),
      checks: [
        check(
          "the second refused: exit 1, naming the owner's pid",
          secondExit?.code === 1 && refusal.includes(`is already open in process ${first.pid}`),
          `exit ${secondExit?.code ?? "none"}: ${refusal.trim().split("\n")[0]?.slice(0, 120) ?? ""}…`,
        ),
        check(
          `${WRITES} writes acknowledged meanwhile`,
          acknowledged.length === WRITES,
          `${acknowledged.length} of ${WRITES}`,
        ),
        check(
          "after kill -9 and a restart: all of them there",
          found === WRITES && listed.size === WRITES,
          `${found} of ${WRITES} listed, ${listed.size} notes in all`,
        ),
        check(
          "the restarted server exits 0 on SIGTERM",
          thirdExit?.code === 0,
          `exit ${thirdExit?.code}`,
        ),
      ],
      logs: servers.map((server, i) => ({
        label: ["first", "second", "third"][i] ?? "server",
        server,
      })),
    };
  } finally {
    for (const server of servers) server.child.kill("SIGKILL");
    await Promise.all(servers.map((server) => server.exited));
    rmSync(dataDir, { recursive: true, force: true });
  }
}
