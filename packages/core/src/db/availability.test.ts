import { sql } from "drizzle-orm";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { sessionCookie } from "../../test/app";
import { bootApp, freshDatabase } from "../../test/database";
import { jsonRequest } from "../../test/http";
import { captureLogs } from "../../test/logs";
import { startTcpProxy } from "../../test/tcp-proxy";
import { config, DEFAULT_TIMEOUTS } from "../config";
import { log } from "../log";
import { createAvailability, DatabaseUnavailable, isConnectionError } from "./availability";
import { openDatabase, queryRows } from "./client";
import { migrate } from "./migrator";

const code = (value: string) => Object.assign(new Error(value), { code: value });

describe("what counts as the database being away", () => {
  it.each([
    ["a refused connection", code("ECONNREFUSED")],
    ["postgres.js giving up connecting", code("CONNECT_TIMEOUT")],
    ["a connection closed under a query", code("CONNECTION_CLOSED")],
    ["the server shutting down (57P01)", code("57P01")],
    ["the server starting up (57P03)", code("57P03")],
    ["too many connections (53300)", code("53300")],
    ["a connection exception (08006)", code("08006")],
    ["drizzle's wrapper around a reset", new Error("Failed query", { cause: code("ECONNRESET") })],
  ])("%s is an outage", (_, error) => {
    expect(isConnectionError(error)).toBe(true);
  });

  it.each([
    ["a unique violation (23505)", code("23505")],
    ["a syntax error (42601)", code("42601")],
    ["a statement timeout (57014)", code("57014")],
    ["a plain bug", new TypeError("x is undefined")],
    [
      "a cause chain that loops",
      (() => {
        const a = new Error("a");
        const b = new Error("b", { cause: a });
        (a as { cause?: unknown }).cause = b;
        return a;
      })(),
    ],
  ])("%s is not", (_, error) => {
    expect(isConnectionError(error)).toBe(false);
  });
});

describe("the guard", () => {
  it("runs a query builder it is given once (drizzle's builders run on every then)", async () => {
    const { guard } = createAvailability({
      probe: async () => {},
      watchdogMs: 1000,
      probeIntervalMs: 1000,
    });
    let runs = 0;
    const thenable = {
      // biome-ignore lint/suspicious/noThenProperty: a stand-in for a drizzle query builder
      then(resolve: (value: number) => void) {
        runs++;
        resolve(runs);
      },
    };
    expect(await guard(() => thenable as unknown as Promise<number>)).toBe(1);
    expect(runs).toBe(1);
  });

  /** A call that waits until `release` is called (a query the server has not answered yet). */
  const pending = () => {
    let release: () => void = () => {};
    const answered = new Promise<void>((resolve) => {
      release = resolve;
    });
    return { answered, release: () => release() };
  };

  it("one timer serves every waiting call, each on its own schedule: a probe when a call has waited watchdogMs, then every watchdogMs while it waits, none once nothing waits", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    onTestFinished(() => {
      vi.useRealTimers();
    });
    let probes = 0;
    const { guard, stop } = createAvailability({
      probe: async () => {
        probes++;
      },
      watchdogMs: 1000,
      probeIntervalMs: 1000,
    });
    onTestFinished(stop);
    const a = pending();
    const first = guard(() => a.answered);
    await vi.advanceTimersByTimeAsync(999);
    expect(probes).toBe(0);
    await vi.advanceTimersByTimeAsync(1); // t = 1000: A has waited 1 s
    expect(probes).toBe(1);
    await vi.advanceTimersByTimeAsync(600); // t = 1600: B starts
    const b = pending();
    const second = guard(() => b.answered);
    await vi.advanceTimersByTimeAsync(400); // t = 2000: A's second mark
    expect(probes).toBe(2);
    await vi.advanceTimersByTimeAsync(599);
    expect(probes).toBe(2);
    await vi.advanceTimersByTimeAsync(1); // t = 2600: B's first mark, not A's next (3000)
    expect(probes).toBe(3);
    a.release();
    await first;
    await vi.advanceTimersByTimeAsync(1000); // t = 3600: B's second; A's 3000 is gone with A
    expect(probes).toBe(4);
    b.release();
    await second;
    await vi.advanceTimersByTimeAsync(5000);
    expect(probes).toBe(4);
  });

  it("a probe that fails while calls wait fails every one of them as unavailable, and the calls after it at once", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    onTestFinished(() => {
      vi.useRealTimers();
    });
    const { guard, stop } = createAvailability({
      probe: async () => {
        throw code("ETIMEDOUT");
      },
      watchdogMs: 1000,
      probeIntervalMs: 1000,
    });
    onTestFinished(stop);
    const warnings = vi.spyOn(log, "warn").mockImplementation(() => {});
    onTestFinished(() => warnings.mockRestore());
    const calls = [pending(), pending()].map((call) =>
      guard(() => call.answered).then(
        () => "answered",
        (error: unknown) => (error instanceof DatabaseUnavailable ? "unavailable" : String(error)),
      ),
    );
    await vi.advanceTimersByTimeAsync(1000);
    expect(await Promise.all(calls)).toEqual(["unavailable", "unavailable"]);
    await expect(guard(async () => "never run")).rejects.toBeInstanceOf(DatabaseUnavailable);
  });
});

describe("just after an outage", () => {
  it("a connection error within two probe intervals of the recovery is probed first: the database answering, only that call fails and no new outage starts; past that, or with no answer, it is an outage again", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    onTestFinished(() => {
      vi.useRealTimers();
    });
    const warnings = vi.spyOn(log, "warn").mockImplementation(() => {});
    onTestFinished(() => warnings.mockRestore());
    const infos = vi.spyOn(log, "info").mockImplementation(() => {});
    onTestFinished(() => infos.mockRestore());
    let up = false;
    const availability = createAvailability({
      probe: async () => {
        if (!up) throw code("ECONNREFUSED");
      },
      watchdogMs: 1000,
      probeIntervalMs: 1000,
    });
    onTestFinished(availability.stop);
    const outcome = (run: () => Promise<unknown>) =>
      availability.guard(run).then(
        () => "ok",
        (error: unknown) => (error instanceof DatabaseUnavailable ? "unavailable" : String(error)),
      );
    const outages = () =>
      warnings.mock.calls.filter(([message]) => message.startsWith("database unavailable")).length;

    expect(await outcome(async () => Promise.reject(code("ECONNREFUSED")))).toBe("unavailable");
    expect(availability.down).toBe(true);
    up = true;
    await vi.advanceTimersByTimeAsync(1000); // the recovery probe answers
    expect(availability.down).toBe(false);

    // The outage's echo: a stale connection failing with 57P01 (admin shutdown).
    expect(await outcome(async () => Promise.reject(code("57P01")))).toBe("unavailable");
    await vi.advanceTimersByTimeAsync(0); // its probe answers
    expect(availability.down).toBe(false);
    expect(await outcome(async () => "served")).toBe("ok");
    expect(outages()).toBe(1);

    // The same within the window, but the database does not answer: an outage.
    up = false;
    expect(await outcome(async () => Promise.reject(code("57P01")))).toBe("unavailable");
    await vi.advanceTimersByTimeAsync(0);
    expect(availability.down).toBe(true);
    expect(outages()).toBe(2);

    // Back, then a connection error well after the recovery: an outage at once, as ever.
    up = true;
    await vi.advanceTimersByTimeAsync(1000);
    expect(availability.down).toBe(false);
    await vi.advanceTimersByTimeAsync(2500);
    up = false;
    expect(await outcome(async () => Promise.reject(code("ECONNRESET")))).toBe("unavailable");
    expect(availability.down).toBe(true);
    expect(outages()).toBe(3);
  });
});

const server = process.env.TEST_DATABASE_URL;

/**
 * Fault drills on a real Postgres through a proxy the test controls, with the production
 * timeouts: a request during an outage must be answered within 3 s, and the first ones after it
 * must succeed without reopening anything.
 */
describe.skipIf(!server)("a Postgres outage, through a proxy", () => {
  async function openThroughProxy() {
    const target = new URL(server ?? "");
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const url = new URL(target);
    url.host = `127.0.0.1:${proxy.port}`;
    const handle = await openDatabase({
      kind: "postgres",
      url: url.toString(),
      poolMax: 5,
      timeouts: DEFAULT_TIMEOUTS,
    });
    onTestFinished(async () => {
      await proxy.close();
      await handle.close();
    });
    const query = (i: number) =>
      handle.guard(() => queryRows<{ i: number }>(handle.db, sql`select ${i}::int as i`));
    return { proxy, handle, query };
  }

  /** Runs `count` queries at once; each one's outcome and how long it took. */
  async function burst(query: (i: number) => Promise<unknown>, count = 20) {
    return Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const started = performance.now();
        const outcome = await query(i).then(
          () => "ok",
          (error: unknown) =>
            error instanceof DatabaseUnavailable ? "unavailable" : String(error),
        );
        return { outcome, ms: performance.now() - started };
      }),
    );
  }

  async function untilOk(query: (i: number) => Promise<unknown>, withinMs: number) {
    const started = performance.now();
    for (;;) {
      try {
        await query(0);
        return performance.now() - started;
      } catch (error) {
        if (performance.now() - started > withinMs) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  it("restarted: every query during the outage fails fast as unavailable, logged once; after it, queries succeed", async () => {
    const { proxy, query } = await openThroughProxy();
    const warnings = vi.spyOn(log, "warn").mockImplementation(() => {});
    onTestFinished(() => warnings.mockRestore());
    expect((await burst(query)).map((r) => r.outcome)).toEqual(Array(20).fill("ok"));

    await proxy.refuse();
    const during = await burst(query);
    expect(during.map((r) => r.outcome)).toEqual(Array(20).fill("unavailable"));
    expect(Math.max(...during.map((r) => r.ms))).toBeLessThan(3000);
    // A second wave while it is still down is answered at once, without the driver.
    const again = await burst(query);
    expect(again.map((r) => r.outcome)).toEqual(Array(20).fill("unavailable"));
    expect(Math.max(...again.map((r) => r.ms))).toBeLessThan(100);
    expect(
      warnings.mock.calls.filter(([message]) => message.startsWith("database unavailable")),
    ).toHaveLength(1);

    await proxy.restore();
    expect(await untilOk(query, 3000)).toBeLessThan(3000);
    expect((await burst(query)).map((r) => r.outcome)).toEqual(Array(20).fill("ok"));
  });

  it("unreachable without refusing (packets dropped): queries waiting on it are answered within 3 s", async () => {
    const { proxy, query } = await openThroughProxy();
    const warnings = vi.spyOn(log, "warn").mockImplementation(() => {});
    onTestFinished(() => warnings.mockRestore());
    await burst(query, 5);

    proxy.blackhole();
    const during = await burst(query);
    expect(during.map((r) => r.outcome)).toEqual(Array(20).fill("unavailable"));
    expect(Math.max(...during.map((r) => r.ms))).toBeLessThan(3500);

    await proxy.restore();
    expect(await untilOk(query, 4000)).toBeLessThan(4000);
  });

  it("through the API: 503 database_unavailable with Retry-After within 3 s, nothing reported; 200 once it is back", async () => {
    // A database of its own: the signup below commits, and the shared one must stay as found.
    const fresh = await freshDatabase();
    await migrate(fresh.handle.db, config().migrationsDir);
    const target = new URL(fresh.env.DATABASE_URL ?? "");
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    onTestFinished(() => proxy.close());
    const url = new URL(target);
    url.host = `127.0.0.1:${proxy.port}`;
    const { app } = await bootApp({ DATABASE_URL: url.toString() });
    const logs = captureLogs();
    const signup = await app.request(
      "/api/auth/signup",
      jsonRequest({
        email: `outage.${Date.now()}@example.com`,
        password: "a strong password",
        name: "Outage",
      }),
    );
    expect(signup.status).toBe(201);
    const cookie = sessionCookie(signup);
    const read = () => app.request("/api/notes", { headers: { cookie } });
    expect((await read()).status).toBe(200);

    await proxy.refuse();
    const started = performance.now();
    const during = await Promise.all(Array.from({ length: 10 }, read));
    expect(performance.now() - started).toBeLessThan(3000);
    for (const response of during) {
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("2");
      expect(await response.json()).toMatchObject({ error: { code: "database_unavailable" } });
    }
    expect(logs.filter((line) => line.message === "unhandled error")).toEqual([]);

    await proxy.restore();
    const back = performance.now();
    for (;;) {
      const response = await read();
      if (response.status === 200) break;
      expect(performance.now() - back).toBeLessThan(3000);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  it("a slow query on a healthy server is not an outage", async () => {
    const { handle } = await openThroughProxy();
    const result = await handle.guard(() =>
      queryRows<{ ok: number }>(handle.db, sql`select 1 as ok from pg_sleep(2.5)`),
    );
    expect(result).toEqual([{ ok: 1 }]);
  });
});
