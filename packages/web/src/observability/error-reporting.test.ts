import { describe, expect, it, vi } from "vitest";
import { createErrorReporting, errorReporting } from "./error-reporting";
import type { Failure } from "./failures";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const options = { dsn: "https://key@ingest.example/1", release: "r1", environment: "test" };

/** A reporter on a window of its own, whose SDK chunk records what it is given. */
function reporter(load?: () => Promise<never>) {
  const target = new EventTarget() as unknown as Window;
  Object.assign(target, { setTimeout: globalThis.setTimeout.bind(globalThis) });
  const sent: Failure[] = [];
  const started = vi.fn();
  const reporting = createErrorReporting(
    options,
    load ??
      (async () => ({
        start(given) {
          started(given);
          return (failure: Failure) => sent.push(failure);
        },
      })),
  );
  return { reporting, target, sent, started };
}

const answering =
  (status: number, headers: Record<string, string> = {}): typeof fetch =>
  async () =>
    new Response(status === 204 ? null : "{}", { status, headers });

describe("the browser's error reporting", () => {
  it("keeps failures until the SDK has loaded, then sends them in order, and later ones at once", async () => {
    const { reporting, target, sent, started } = reporter();
    reporting.start(target);
    target.dispatchEvent(Object.assign(new Event("error"), { error: new Error("early") }));
    expect(sent).toEqual([]);
    await vi.waitFor(() => expect(started).toHaveBeenCalledWith(options));
    await reporting.loaded();
    target.dispatchEvent(
      Object.assign(new Event("unhandledrejection"), { reason: new Error("later") }),
    );
    expect(sent.map((f) => [f.tags.kind, f.error.message])).toEqual([
      ["uncaught", "early"],
      ["unhandled-rejection", "later"],
    ]);
  });

  it("the API client's fetch reports a 5xx with the answer's trace id, a network failure, and nothing else; it returns and throws what fetch did", async () => {
    const { reporting, target, sent, started } = reporter();
    reporting.start(target);
    await vi.waitFor(() => expect(started).toHaveBeenCalled());
    await reporting.loaded();

    const failed = await reporting.fetch(answering(503, { "x-trace-id": TRACE }))(
      "/api/notes?q=x",
      { method: "POST" },
    );
    expect(failed.status).toBe(503);
    for (const status of [200, 204, 400, 401, 404, 429])
      expect((await reporting.fetch(answering(status))("/api/notes")).status).toBe(status);
    const offline = new TypeError("Failed to fetch");
    await expect(
      reporting.fetch(async () => {
        throw offline;
      })("/api/auth/me"),
    ).rejects.toBe(offline);
    const aborted = new DOMException("The user aborted a request.", "AbortError");
    await expect(
      reporting.fetch(async () => {
        throw aborted;
      })("/api/notes"),
    ).rejects.toBe(aborted);

    expect(sent.map((f) => ({ tags: f.tags, traceId: f.traceId }))).toEqual([
      {
        tags: { kind: "api", method: "POST", route: "/api/notes", status: "503", trace_id: TRACE },
        traceId: TRACE,
      },
      { tags: { kind: "network", method: "GET", route: "/api/auth/me" }, traceId: undefined },
    ]);
  });

  it("before start() nothing is kept, and an SDK that fails to load stops the keeping", async () => {
    const load = vi.fn(() => Promise.reject(new Error("chunk gone")));
    const { reporting, target, sent } = reporter(load);
    await reporting.fetch(answering(500))("/api/notes");
    reporting.start(target);
    await vi.waitFor(() => expect(load).toHaveBeenCalled());
    await reporting.loaded();
    target.dispatchEvent(Object.assign(new Event("error"), { error: new Error("after") }));
    expect(sent).toEqual([]);
  });

  it("the site's reporter without a DSN (as the tests build it) is off: its fetch is fetch", async () => {
    expect(import.meta.env.SLIPWAY_WEB_SENTRY_DSN).toBeFalsy();
    const plain = answering(500);
    expect(errorReporting.fetch(plain)).toBe(plain);
    errorReporting.start();
    await errorReporting.loaded();
  });
});
