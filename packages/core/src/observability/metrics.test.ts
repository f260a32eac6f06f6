import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { emfDocuments, emfProblems } from "../../test/emf";
import { ORIGIN } from "../../test/http";
import { captureLogs } from "../../test/logs";
import { app } from "../api";
import { rollback } from "../db/transaction";
import { METRICS, METRICS_NAMESPACE, ROUTE_GROUPS, TASK_NAMES } from "./metric-catalog";
import {
  bucketOf,
  bucketValue,
  EMF_MAX_VALUES,
  flushMetrics,
  MetricsAggregator,
  recordLoginFailure,
  recordTask,
  resetMetrics,
  routeGroupOf,
} from "./metrics";

type Doc = Record<string, unknown> & {
  Latency?: {
    Values: number[];
    Counts: number[];
    Max: number;
    Min: number;
    Count: number;
    Sum: number;
  };
};

const request = fc.record({
  group: fc.constantFrom(...ROUTE_GROUPS),
  status: fc.constantFrom(200, 201, 204, 400, 401, 404, 429, 500, 503),
  // From sub-millisecond to beyond the histogram's top bucket.
  ms: fc.oneof(
    fc.double({ min: 0, max: 5, noNaN: true }),
    fc.double({ min: 0, max: 2e6, noNaN: true }),
  ),
});

describe("EMF lines", () => {
  it("are valid per the EMF specification, for every family, and name only the catalog's metrics and dimensions", () => {
    const aggregate = new MetricsAggregator();
    aggregate.request("notes", 200, 12.5);
    aggregate.request("notes", 500, 800);
    aggregate.request("auth", 429, 3);
    aggregate.task("mail.deliver", 40, false, 1500);
    aggregate.task("mail.deliver", 4000, true, 90_000);
    aggregate.loginFailures = 2;
    const documents = aggregate.drain("staging", Date.UTC(2026, 11, 1));
    expect(documents).toHaveLength(4);
    for (const document of documents) {
      expect(emfProblems(document)).toEqual([]);
      const [directive] = (document._aws as { CloudWatchMetrics: Record<string, unknown>[] })
        .CloudWatchMetrics;
      expect(directive?.Namespace).toBe(METRICS_NAMESPACE);
      const family = Object.values(METRICS).find(
        (f) => JSON.stringify([f.dimensions]) === JSON.stringify(directive?.Dimensions),
      );
      expect(family, JSON.stringify(directive)).toBeDefined();
      const units = (family?.metrics ?? {}) as Record<string, string>;
      for (const metric of (directive?.Metrics ?? []) as { Name: string; Unit: string }[])
        expect(units[metric.Name]).toBe(metric.Unit);
    }
    expect(documents.map((d) => [d.RouteGroup ?? d.Task ?? "stage", d.Stage])).toEqual([
      ["notes", "staging"],
      ["auth", "staging"],
      ["mail.deliver", "staging"],
      ["stage", "staging"],
    ]);
    // Counters only when non-zero: auth had no 5xx, so no Errors5xx member and no metric.
    expect(documents[1]).not.toHaveProperty("Errors5xx");
    expect(documents[0]).toMatchObject({ Errors5xx: 1 });
    expect(documents[3]).toMatchObject({ LoginFailures: 2, RateLimited: 1 });
  });

  it("the checker refuses what the specification forbids (so the test above can fail)", () => {
    const valid = new MetricsAggregator();
    valid.request("notes", 500, 5);
    const [document] = valid.drain("local", 1);
    const broken = (change: (d: Record<string, unknown>) => void) => {
      const copy = structuredClone(document) as Record<string, unknown>;
      change(copy);
      return emfProblems(copy).join("\n");
    };
    const directive = (d: Record<string, unknown>) =>
      (d._aws as { CloudWatchMetrics: Record<string, unknown>[] }).CloudWatchMetrics[0] as Record<
        string,
        unknown
      >;
    expect(broken((d) => delete d.RouteGroup)).toContain("dimension RouteGroup");
    expect(broken((d) => delete d.Errors5xx)).toContain("metric Errors5xx: no member");
    expect(broken((d) => (directive(d).Namespace = "has space"))).toContain("pattern");
    expect(broken((d) => (directive(d).Extra = 1))).toContain("additional properties");
    expect(broken((d) => ((d.Latency as { Counts: number[] }).Counts = []))).toContain(
      "differ in length",
    );
    expect(broken((d) => (d.Errors5xx = "1"))).toContain("is not a metric value");
    expect(broken((d) => delete (d._aws as Record<string, unknown>).Timestamp)).toContain(
      "Timestamp",
    );
  });
});

describe("aggregation", () => {
  it("over any sequence of requests: one line per group seen, every request counted in its bucket, exact count/sum/min/max, 5xx and 429s counted", () => {
    fc.assert(
      fc.property(fc.array(request, { maxLength: 400 }), (requests) => {
        const aggregate = new MetricsAggregator();
        for (const r of requests) aggregate.request(r.group, r.status, r.ms);
        const documents = aggregate.drain("local", 1) as Doc[];
        const seen = new Set(requests.map((r) => r.group));
        const byGroup = new Map(
          documents.filter((d) => d.RouteGroup).map((d) => [d.RouteGroup, d]),
        );
        expect(new Set(byGroup.keys())).toEqual(seen);
        for (const group of seen) {
          const mine = requests.filter((r) => r.group === group);
          const document = byGroup.get(group) as Doc;
          expect(emfProblems(document)).toEqual([]);
          const latency = document.Latency as NonNullable<Doc["Latency"]>;
          expect(latency.Count).toBe(mine.length);
          expect(latency.Values.length).toBeLessThanOrEqual(EMF_MAX_VALUES);
          // The histogram: each bucket's count is the requests that fall in it.
          const expected = new Map<number, number>();
          for (const r of mine)
            expected.set(bucketOf(r.ms), (expected.get(bucketOf(r.ms)) ?? 0) + 1);
          const got = new Map(latency.Values.map((v, i) => [bucketOf(v), latency.Counts[i]]));
          expect(got).toEqual(expected);
          expect(latency.Max).toBeCloseTo(Math.max(...mine.map((r) => r.ms)), 2);
          expect(latency.Min).toBeCloseTo(Math.min(...mine.map((r) => r.ms)), 2);
          expect(latency.Sum).toBeCloseTo(
            mine.reduce((s, r) => s + r.ms, 0),
            0,
          );
          const errors = mine.filter((r) => r.status >= 500).length;
          expect(document.Errors5xx).toBe(errors || undefined);
        }
        const limited = requests.filter((r) => r.status === 429).length;
        const stage = documents.find((d) => !d.RouteGroup && !d.Task);
        expect(stage?.RateLimited).toBe(limited || undefined);
        // Drained: the next flush starts from nothing.
        expect(aggregate.empty).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("a bucket reports its value within 10% of every value in it", () => {
    fc.assert(
      fc.property(fc.double({ min: 2 ** -4, max: 2 ** 20, noNaN: true }), (ms) => {
        const reported = bucketValue(bucketOf(ms));
        expect(Math.abs(reported - ms) / ms).toBeLessThan(0.1);
        expect(bucketOf(reported)).toBe(bucketOf(ms));
      }),
    );
  });

  it("a task name outside the catalog is counted as other; the route group comes from the pattern, never the path", () => {
    const aggregate = new MetricsAggregator();
    aggregate.task("made.up", 1, true, undefined);
    expect([...aggregate.tasks.keys()]).toEqual(["other"]);
    expect(TASK_NAMES).toContain("other");
    expect(routeGroupOf("/api/notes/:id")).toBe("notes");
    expect(routeGroupOf("/api/attachments/:id/complete")).toBe("attachments");
    expect(routeGroupOf("/api/openapi.json")).toBe("other");
    expect(routeGroupOf("/api/dev/mail")).toBe("other");
    expect(routeGroupOf(undefined)).toBe("unmatched");
  });
});

describe("in the request path", () => {
  it("requests through the app are grouped by their route pattern: ids in the path and unknown paths add no key", async () => {
    const lines = captureLogs();
    resetMetrics();
    const headers = { origin: ORIGIN, "content-type": "application/json" };
    await rollback(async () => {
      for (const id of ["not_1", "not_2", "not_3"]) await app.request(`/api/notes/${id}`);
      for (const path of ["/api/nope/1", "/api/nope/2", "/wp-login.php"]) await app.request(path);
      await app.request("/api/health");
      await app.request("/api/auth/login", {
        method: "POST",
        headers,
        body: JSON.stringify({ email: "nobody@example.com", password: "wrong-password-1" }),
      });
    });
    recordTask("mail.deliver", 5, false, 10);
    recordLoginFailure();
    flushMetrics();
    const documents = emfDocuments(lines);
    for (const document of documents) expect(emfProblems(document)).toEqual([]);
    const counts = Object.fromEntries(
      documents
        .filter((d) => d.RouteGroup)
        .map((d) => [d.RouteGroup, (d.Latency as { Count: number }).Count]),
    );
    // The health check is not measured (metric-catalog.ts).
    expect(counts).toEqual({ notes: 3, unmatched: 3, auth: 1 });
    expect(documents.find((d) => d.Task === "mail.deliver")).toBeDefined();
    // The wrong password, and the extra recorded one.
    expect(documents.find((d) => d.LoginFailures !== undefined)?.LoginFailures).toBe(2);
    // Nothing left: a second flush writes nothing.
    const before = lines.length;
    flushMetrics();
    expect(lines.length).toBe(before);
  });
});
