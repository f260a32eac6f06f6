import postgres from "postgres";
import {
  Client,
  check,
  type DrillReport,
  examples,
  is2xx,
  maxLatency,
  now,
  type Postgres,
  signup,
  sleep,
  startApi,
  startLoad,
  statuses,
  write,
} from "./lib";

/**
 * (c) `kill -9` of the API during writes: 50 connections write notes, the process is killed
 * mid-flight, a new one is started on the same port. Every write answered 201 (with its id)
 * before the kill is in Postgres afterwards.
 */

const CONNECTIONS = 50;

export async function kill(pg: Postgres): Promise<DrillReport> {
  const first = await startApi(pg);
  const client = new Client(first);
  let second: Awaited<ReturnType<typeof startApi>> | undefined;
  const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
  try {
    await first.ready();
    const userId = await signup(client, "kill");
    const load = startLoad(CONNECTIONS, () => write(client));
    await sleep(3000);
    const killAt = now();
    first.child.kill("SIGKILL");
    await first.exited;
    const results = await load.stop();

    second = await startApi(pg, first.port);
    await second.ready();
    const acknowledged = results.filter((r) => r.status === 201 && r.id).map((r) => r.id as string);
    const present = new Set<string>();
    for (let i = 0; i < acknowledged.length; i += 1000) {
      const chunk = acknowledged.slice(i, i + 1000);
      const rows = await sql<{ id: string }[]>`select id from note where id in ${sql(chunk)}`;
      for (const row of rows) present.add(row.id);
    }
    const missing = acknowledged.filter((id) => !present.has(id));
    const [{ count } = { count: 0 }] = await sql<{ count: number }[]>`
      select count(*)::int as count from note where user_id = ${userId}`;
    // Through the restarted API too: a sample of the acknowledged notes, read by id.
    const reader = new Client(second);
    reader.cookie = client.cookie;
    const sample = acknowledged.filter((_, i) => i % Math.ceil(acknowledged.length / 50) === 0);
    const reads = await Promise.all(
      sample.map((id) => reader.request("read", "GET", `/api/notes/${id}`)),
    );
    reader.close();
    const unreadable = reads.filter((r) => r.status !== 200);

    const beforeKill = results.filter((r) => r.end < killAt);
    const beforeBad = beforeKill.filter((r) => !is2xx(r));
    const inFlight = results.filter((r) => r.start < killAt && r.end >= killAt);
    return {
      name: `(c) kill -9 of the API during writes, ${CONNECTIONS} connections`,
      requests: results.length + reads.length,
      statuses: `${statuses(results)}; after restart ${statuses(reads)}`,
      maxLatencyMs: maxLatency(results),
      maxRssMb: first.maxRssMb(),
      checks: [
        check(
          "before the kill: every write 201",
          beforeBad.length === 0 && beforeKill.length > 0,
          `${beforeKill.length} writes, ${beforeBad.length} not 2xx${beforeBad.length ? `: ${examples(beforeBad)}` : ""}`,
        ),
        check(
          "every acknowledged write in Postgres after the restart",
          acknowledged.length > 0 && missing.length === 0,
          `${acknowledged.length} acknowledged, ${missing.length} missing; ${inFlight.length} in flight at the kill, ${count - acknowledged.length} of them committed unacknowledged`,
        ),
        check(
          "the restarted API reads them",
          unreadable.length === 0 && reads.length > 0,
          `${reads.length} sampled, ${unreadable.length} not 200`,
        ),
      ],
      logs: [
        { label: "the killed API", server: first },
        { label: "the restarted API", server: second },
      ],
    };
  } finally {
    client.close();
    await sql.end();
    first.child.kill("SIGKILL");
    if (second) {
      second.child.kill("SIGTERM");
      await second.exited;
    }
  }
}
