import {
  Client,
  check,
  type DrillReport,
  is2xx,
  maxLatency,
  mb,
  mixed,
  type Postgres,
  percentile,
  seedNotes,
  signup,
  sleep,
  startApi,
  startLoad,
  statuses,
} from "./lib";

/**
 * (a) Mixed load on the production bundle: `seconds` of reads by id, lists and writes on 50
 * keep-alive connections. Every request answered 2xx; the process's RSS stays under 384 MB
 * (the container has 512 MB).
 */

const CONNECTIONS = 50;
const RSS_LIMIT_MB = 384;

export async function load(pg: Postgres, seconds: number): Promise<DrillReport> {
  const server = await startApi(pg);
  const client = new Client(server);
  try {
    await server.ready();
    await signup(client, "load");
    const ids = await seedNotes(client);
    const load = startLoad(CONNECTIONS, mixed(client, ids));
    await sleep(seconds * 1000);
    const results = await load.stop();

    const failed = results.filter((result) => result.error);
    const non2xx = results.filter((result) => result.status !== undefined && !is2xx(result));
    const rss = server.maxRssMb();
    const rate = Math.round(results.length / seconds);
    return {
      name: `(a) ${seconds} s mixed load, ${CONNECTIONS} connections`,
      requests: results.length,
      statuses: statuses(results),
      maxLatencyMs: maxLatency(results),
      maxRssMb: rss,
      checks: [
        check(
          "no request failed (reset, refused, timeout)",
          failed.length === 0,
          `${failed.length}`,
        ),
        check("every response 2xx", non2xx.length === 0, `${non2xx.length} non-2xx`),
        check(
          `RSS under ${RSS_LIMIT_MB} MB, sampled every second`,
          rss !== undefined && rss < RSS_LIMIT_MB,
          `max ${mb(rss)}`,
        ),
        check(
          "throughput (not asserted)",
          true,
          `${rate} req/s, p50 ${Math.round(percentile(results, 50))} ms, p99 ${Math.round(percentile(results, 99))} ms`,
        ),
      ],
      logs: [{ label: "the API", server }],
    };
  } finally {
    client.close();
    server.child.kill("SIGTERM");
    await server.exited;
  }
}
