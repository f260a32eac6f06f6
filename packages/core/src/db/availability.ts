import { log } from "../log";

/**
 * Fail fast while the database is away. Every call into the driver from db/transaction.ts goes
 * through `guard`:
 * - a connection failure (refused, reset, closed, timed out, the server shutting down or starting
 *   up) declares an outage: the call and every call still waiting on the driver fail with
 *   `DatabaseUnavailable` at once, and so does every new call until a probe on a connection of its
 *   own answers. postgres.js alone leaves some queued queries waiting forever once its
 *   connections fail, even after the server is back (measured: 4 of 20 queries in a 6 s restart),
 *   so waiting on the driver is not an option.
 * - a call still waiting after `watchdogMs` makes a probe run: a server that is unreachable without
 *   refusing (a network that drops packets) is found within `watchdogMs` + the probe's timeout,
 *   while a slow query on a healthy server goes on.
 * An outage is logged once when it starts and once when it ends, never once per request.
 */

export class DatabaseUnavailable extends Error {
  override name = "DatabaseUnavailable";
}

/** Node socket errors and postgres.js's own codes that mean "no usable connection". */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
]);

/**
 * SQLSTATEs of a server that cannot serve now: class 08 (connection exception), 57P01-57P03
 * (shutting down by admin or crash, not accepting connections yet), 53300 (too many connections).
 */
const UNAVAILABLE_STATES = /^(08...|57P0[123]|53300)$/;

/** Whether `error` (or any error in its cause chain) says the database cannot be reached. */
export function isConnectionError(error: unknown): boolean {
  const seen = new Set<unknown>();
  for (let current = error; current instanceof Error && !seen.has(current); ) {
    seen.add(current);
    if (current instanceof DatabaseUnavailable) return true;
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && (CONNECTION_CODES.has(code) || UNAVAILABLE_STATES.test(code))) {
      return true;
    }
    current = current.cause;
  }
  return false;
}

/**
 * What a guarded call is told: whether it was answered as unavailable meanwhile (then `reason`,
 * and `throwIfAborted` throws it), as an AbortSignal would say, without being one (an
 * EventTarget per query, which nothing here listens to).
 */
export interface CallSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  throwIfAborted(): void;
}

/** A guarded call's signal, and whether the call is settled (its second outcome is ignored). */
class Abandonment implements CallSignal {
  aborted = false;
  reason: unknown;
  settled = false;
  abort(reason: Error) {
    this.aborted = true;
    this.reason = reason;
  }
  throwIfAborted() {
    if (this.aborted) throw this.reason;
  }
}

/** The signal of a call that nothing can abandon (a database that cannot be away). */
const neverAbandoned: CallSignal = {
  aborted: false,
  reason: undefined,
  throwIfAborted() {},
};

/** The guard of a database that cannot be away (PGlite, in this process): it only runs the call. */
export function unguarded<T>(run: (signal: CallSignal) => Promise<T>): Promise<T> {
  return run(neverAbandoned);
}

export interface AvailabilityOptions {
  /** Resolves when the database answers on a connection of its own; rejects otherwise. */
  probe: () => Promise<void>;
  /** How long a call may wait before a probe checks the server. */
  watchdogMs: number;
  /** How often an outage is probed for its end. */
  probeIntervalMs: number;
}

export type Availability = ReturnType<typeof createAvailability>;

export function createAvailability(options: AvailabilityOptions) {
  /** Calls waiting on the driver: how to fail each, and when its watchdog is next due. */
  const waiting = new Map<(error: Error) => void, number>();
  let watchdog: NodeJS.Timeout | undefined;
  let outage: { since: number; cause: unknown } | undefined;
  let probing: Promise<boolean> | undefined;
  let recovery: NodeJS.Timeout | undefined;
  /** When the last outage ended (performance.now()). */
  let recoveredAt: number | undefined;
  let stopped = false;

  const unavailable = (cause: unknown) =>
    new DatabaseUnavailable("The database is unavailable", { cause });

  /** Probes once at a time; true when the database answered within `watchdogMs`. */
  function probe(): Promise<boolean> {
    if (probing) return probing;
    // Bounded: a probe that connects and then hangs must not hold every later check.
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), options.watchdogMs);
    });
    const answered = options.probe().then(
      () => true,
      () => false,
    );
    probing = Promise.race([answered, timedOut]).finally(() => {
      clearTimeout(timer);
      probing = undefined;
    });
    return probing;
  }

  function declareOutage(cause: unknown) {
    // Closing the pool ends its connections: not an outage.
    if (outage || stopped) return;
    outage = { since: Date.now(), cause };
    log.warn("database unavailable: answering 503 until it is back", { error: cause });
    for (const reject of waiting.keys()) reject(unavailable(cause));
    waiting.clear();
    const check = async () => {
      if (stopped) return;
      if (await probe()) {
        const since = outage?.since ?? Date.now();
        outage = undefined;
        recovery = undefined;
        recoveredAt = performance.now();
        log.info("database reachable again", { outageMs: Date.now() - since });
        return;
      }
      if (stopped) return;
      recovery = setTimeout(check, options.probeIntervalMs);
      recovery.unref();
    };
    recovery = setTimeout(check, options.probeIntervalMs);
    recovery.unref();
  }

  /**
   * A connection error soon after an outage ended is often its echo rather than a new one: a
   * pooled connection from before the restart failing with the shutdown's 57P01 when next used
   * (seen in drill (b): it declared a second outage, a second of 503s). Within two probe
   * intervals of a recovery a probe decides first: if the database answers, only that call failed.
   */
  function connectionFailed(cause: unknown) {
    const recent =
      recoveredAt !== undefined && performance.now() - recoveredAt < 2 * options.probeIntervalMs;
    if (!recent) return declareOutage(cause);
    void probe().then((answered) => {
      if (!answered) declareOutage(cause);
    });
  }

  /**
   * One timer for every waiting call (a timer per call cost a few percent of a request's CPU),
   * keeping each call's own schedule: a probe when a call has waited `watchdogMs`, and again
   * every `watchdogMs` while it waits. Calls start in order, so a new call is never due before
   * the timer already set; the timer, when it fires, re-arms for the earliest call still due.
   */
  function armWatchdog() {
    if (watchdog || stopped) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const due of waiting.values()) earliest = Math.min(earliest, due);
    if (earliest === Number.POSITIVE_INFINITY) return;
    watchdog = setTimeout(watchdogFired, Math.max(0, earliest - performance.now()));
    watchdog.unref();
  }
  async function watchdogFired() {
    watchdog = undefined;
    const now = performance.now();
    let due = false;
    for (const [reject, at] of waiting) {
      if (at > now) continue;
      due = true;
      waiting.set(reject, at + options.watchdogMs * Math.ceil((now - at + 1) / options.watchdogMs));
    }
    if (due && !(await probe())) declareOutage(new Error(`no answer in ${options.watchdogMs} ms`));
    armWatchdog();
  }

  /**
   * Runs `run`, failing fast while the database is away. `run` gets a signal that is aborted when
   * the call is answered as unavailable: a transaction checks it before committing, so a caller
   * told 503 is never left with a write that committed anyway. One promise per call, settled by
   * whichever comes first: `run`'s outcome, or the outage (`fail`, from `declareOutage`); what
   * comes second is ignored, as a late answer from the driver has nobody waiting for it.
   * (ADR 020: a race with an abandonment promise and an AbortController per query, all alive
   * while the query waits, cost GC on every request.)
   */
  function guard<T>(run: (signal: CallSignal) => Promise<T>): Promise<T> {
    if (outage) return Promise.reject(unavailable(outage.cause));
    return new Promise<T>((resolve, reject) => {
      const signal = new Abandonment();
      const failed = (error: unknown) => {
        if (signal.settled) return;
        signal.settled = true;
        waiting.delete(fail);
        if (!isConnectionError(error)) return reject(error);
        // The caller's answer first: whatever declaring the outage does, it cannot keep it waiting.
        reject(error instanceof DatabaseUnavailable ? error : unavailable(error));
        connectionFailed(error);
      };
      const fail = (error: Error) => {
        signal.abort(error);
        failed(error);
      };
      waiting.set(fail, performance.now() + options.watchdogMs);
      armWatchdog();
      let work: Promise<T>;
      try {
        // Resolved once into a real promise: drizzle's query builders are thenables that run
        // their query on every `then`.
        work = Promise.resolve(run(signal));
      } catch (error) {
        work = Promise.reject(error);
      }
      work.then((value) => {
        if (signal.settled) return;
        signal.settled = true;
        waiting.delete(fail);
        resolve(value);
      }, failed);
    });
  }

  return {
    guard,
    /** Whether an outage is declared now (for tests and readiness). */
    get down() {
      return outage !== undefined;
    },
    /** Stops the recovery probe (closing the database). */
    stop() {
      stopped = true;
      if (recovery) clearTimeout(recovery);
      if (watchdog) clearTimeout(watchdog);
    },
  };
}
