import {
  Client,
  check,
  type DrillReport,
  examples,
  exitOf,
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
 * (d) SIGTERM under load, as ECS stops a task: 50 connections send mixed requests, the API gets
 * SIGTERM and the load goes on (a load balancer takes a moment to stop routing). Every request
 * in flight at the signal is answered, none reset; the process exits 0 well within ECS's 30 s
 * stop timeout (it forces an exit 1 at 25 s).
 */

const CONNECTIONS = 50;
const STOP_TIMEOUT_MS = 30_000;

export async function sigterm(pg: Postgres): Promise<DrillReport> {
  const server = await startApi(pg);
  const client = new Client(server);
  try {
    await server.ready();
    await signup(client, "sigterm");
    const ids = await seedNotes(client);
    const load = startLoad(CONNECTIONS, mixed(client, ids));
    await sleep(3000);
    const termAt = now();
    server.child.kill("SIGTERM");
    const exit = await exitOf(server, STOP_TIMEOUT_MS + 5000);
    const results = await load.stop();

    const inFlight = results.filter((r) => r.start < termAt && r.end >= termAt);
    const inFlightBad = inFlight.filter((r) => !is2xx(r));
    const before = results.filter((r) => r.end < termAt);
    const beforeBad = before.filter((r) => !is2xx(r));
    const later = results.filter((r) => r.start >= termAt);
    const laterAnswered = later.filter((r) => r.status !== undefined);
    const laterBad = laterAnswered.filter((r) => !is2xx(r));
    const laterReset = later.filter((r) => r.error && r.error !== "ECONNREFUSED");
    const exitMs = exit ? exit.at - termAt : undefined;
    return {
      name: `(d) SIGTERM under load, ${CONNECTIONS} connections`,
      requests: results.length,
      statuses: statuses(results),
      maxLatencyMs: maxLatency(results),
      maxRssMb: server.maxRssMb(),
      checks: [
        check(
          "before the signal: all 2xx",
          beforeBad.length === 0 && before.length > 0,
          `${before.length} requests, ${beforeBad.length} not 2xx`,
        ),
        check(
          "every request in flight at SIGTERM answered 2xx (none reset)",
          inFlightBad.length === 0 && inFlight.length > 0,
          `${inFlight.length} in flight, ${inFlightBad.length} not 2xx${inFlightBad.length ? `: ${examples(inFlightBad)}` : ""}`,
        ),
        check(
          "sent after it: answered 2xx or refused (not listening), never reset",
          laterBad.length === 0 && laterReset.length === 0,
          `${later.length} sent: ${statuses(later) || "none"}`,
        ),
        check(
          `exit 0 within the ${STOP_TIMEOUT_MS / 1000} s stop timeout`,
          exit?.code === 0 && exitMs !== undefined && exitMs < STOP_TIMEOUT_MS,
          exit
            ? `exit ${exit.code ?? exit.signal} after ${Math.round(exitMs ?? 0)} ms`
            : `still running after ${STOP_TIMEOUT_MS + 5000} ms`,
        ),
      ],
      logs: [{ label: "the API", server }],
    };
  } finally {
    client.close();
    server.child.kill("SIGKILL");
  }
}
