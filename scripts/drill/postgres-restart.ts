import {
  Client,
  check,
  type DrillReport,
  examples,
  is2xx,
  maxLatency,
  mixed,
  now,
  type Postgres,
  seedNotes,
  signup,
  sleep,
  startApi,
  startLoad,
  statuses,
} from "./lib";

/**
 * (b) Postgres restarted under load: `pg_ctl stop -m fast`, 6 s down, started again with the same
 * options, while 50 connections send mixed requests. During the outage every answer is a 2xx or
 * a 503 `database_unavailable` with Retry-After, none takes over 3 s; from 2 s after Postgres is
 * back, every answer is a 2xx again (ADR 016).
 */

const CONNECTIONS = 50;
const DOWN_MS = 6000;
const LATENCY_LIMIT_MS = 3000;
const RECOVERY_GRACE_MS = 2000;

export async function postgresRestart(pg: Postgres): Promise<DrillReport> {
  const server = await startApi(pg);
  const client = new Client(server);
  let restarted = true;
  try {
    await server.ready();
    await signup(client, "restart");
    const ids = await seedNotes(client);
    const load = startLoad(CONNECTIONS, mixed(client, ids));
    await sleep(3000);
    const stopAt = now();
    restarted = false;
    await pg.stop();
    await sleep(DOWN_MS);
    await pg.start();
    restarted = true;
    const backAt = now();
    await sleep(8000);
    const results = await load.stop();

    // In the outage: in flight at any moment from the stop to 2 s after Postgres is back.
    const recoveredAt = backAt + RECOVERY_GRACE_MS;
    const during = results.filter((r) => r.end >= stopAt && r.start < recoveredAt);
    const outside = results.filter((r) => !(r.end >= stopAt && r.start < recoveredAt));
    const before = outside.filter((r) => r.start < stopAt);
    const after = outside.filter((r) => r.start >= recoveredAt);
    const unavailable = during.filter((r) => r.status === 503);
    const wrong = during.filter(
      (r) => !is2xx(r) && !(r.status === 503 && r.code === "database_unavailable" && r.retryAfter),
    );
    const slow = results.filter((r) => r.ms > LATENCY_LIMIT_MS);
    const failed = results.filter((r) => r.error);
    const beforeBad = before.filter((r) => !is2xx(r));
    const afterBad = after.filter((r) => !is2xx(r));
    const served503 = unavailable.length > 0 ? Math.max(...unavailable.map((r) => r.end)) : stopAt;
    return {
      name: `(b) Postgres stopped (fast) ${DOWN_MS / 1000} s and started under load`,
      requests: results.length,
      statuses: statuses(results),
      maxLatencyMs: maxLatency(results),
      maxRssMb: server.maxRssMb(),
      checks: [
        check(
          "every request answered (no reset, refused or timeout)",
          failed.length === 0,
          `${failed.length} unanswered${failed.length ? `: ${examples(failed)}` : ""}`,
        ),
        check(
          "before the stop: all 2xx",
          beforeBad.length === 0 && before.length > 0,
          `${before.length} requests, ${beforeBad.length} not 2xx`,
        ),
        check(
          "the outage was seen: 503s while Postgres was down",
          unavailable.length > 0,
          `${unavailable.length} of ${during.length} in the outage`,
        ),
        check(
          "in the outage: only 2xx or 503 database_unavailable with Retry-After",
          wrong.length === 0,
          `${wrong.length} other${wrong.length ? `: ${examples(wrong)}` : ""}`,
        ),
        check(
          `no request over ${LATENCY_LIMIT_MS / 1000} s`,
          slow.length === 0,
          `${slow.length} over; slowest ${Math.round(maxLatency(results) ?? 0)} ms${slow.length ? ` (${examples(slow, 3, stopAt)}, from the stop; Postgres back at ${Math.round(backAt - stopAt)} ms)` : ""}`,
        ),
        check(
          `from ${RECOVERY_GRACE_MS / 1000} s after Postgres is back: all 2xx`,
          afterBad.length === 0 && after.length > 0,
          `${after.length} requests, ${afterBad.length} not 2xx; last 503 ${Math.round(served503 - backAt)} ms after Postgres was back`,
        ),
      ],
      logs: [{ label: "the API", server }],
    };
  } finally {
    client.close();
    if (!restarted) await pg.start().catch(() => {});
    server.child.kill("SIGTERM");
    await server.exited;
  }
}
