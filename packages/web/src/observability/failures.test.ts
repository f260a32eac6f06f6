import { describe, expect, it } from "vitest";
import {
  networkFailure,
  rejectionFailure,
  responseFailure,
  routeOf,
  uncaughtFailure,
} from "./failures";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const answer = (status: number, headers: Record<string, string> = {}) =>
  new Response(null, { status, headers });

describe("which API answers are reported", () => {
  it.each([200, 204, 302, 400, 401, 403, 404, 409, 413, 422, 429, 499])(
    "%i: not reported",
    (status) => {
      expect(responseFailure("GET", "/api/notes", answer(status))).toBeUndefined();
    },
  );

  it.each([500, 502, 503, 504])(
    "%i: reported with its status, route, request and trace ids",
    (status) => {
      const failure = responseFailure(
        "post",
        "http://localhost/api/notes/nte_01JD3K9ZQ7X8Y2N4M6P0R5S7TV/attachments?token=secret#frag",
        answer(status, { "x-trace-id": TRACE, "x-request-id": "req-123" }),
      );
      expect(failure?.tags).toEqual({
        kind: "api",
        method: "POST",
        route: "/api/notes/:id/attachments",
        status: String(status),
        request_id: "req-123",
        trace_id: TRACE,
      });
      expect(failure?.traceId).toBe(TRACE);
      expect(failure?.error.name).toBe("ApiFailure");
      expect(failure?.error.message).toBe(`POST /api/notes/:id/attachments answered ${status}`);
      expect(failure?.fingerprint).toEqual([
        "api",
        "POST",
        "/api/notes/:id/attachments",
        String(status),
      ]);
      expect(JSON.stringify(failure)).not.toMatch(/secret|frag/);
    },
  );

  it("a trace id that is not one (absent, malformed, all zeros) is left out", () => {
    for (const header of [undefined, "xyz", TRACE.toUpperCase(), "0".repeat(32), `${TRACE}0`]) {
      const failure = responseFailure(
        "GET",
        "/api/me",
        answer(500, header ? { "x-trace-id": header } : {}),
      );
      expect(failure?.traceId, header).toBeUndefined();
      expect(failure?.tags.trace_id, header).toBeUndefined();
    }
  });
});

describe("calls without an answer", () => {
  it("a network failure is reported with method and route, without the query", () => {
    const failure = networkFailure("GET", "/api/notes?q=diary", new TypeError("Failed to fetch"));
    expect(failure?.tags).toEqual({ kind: "network", method: "GET", route: "/api/notes" });
    expect(failure?.error.message).toBe("GET /api/notes failed: Failed to fetch");
    expect(failure?.error.name).toBe("NetworkFailure");
  });

  it("a request the page aborted is not", () => {
    expect(
      networkFailure("GET", "/api/notes", new DOMException("aborted", "AbortError")),
    ).toBeUndefined();
  });
});

describe("uncaught errors and unhandled rejections", () => {
  it("an uncaught Error is reported as itself", () => {
    const error = new RangeError("boom");
    expect(uncaughtFailure({ error, message: "Uncaught RangeError: boom" })).toEqual({
      error,
      tags: { kind: "uncaught" },
    });
  });

  it("a cross-origin 'Script error.' carries nothing to act on and is dropped", () => {
    expect(uncaughtFailure({ error: null, message: "Script error." })).toBeUndefined();
    expect(uncaughtFailure({ message: "" })).toBeUndefined();
  });

  it("a thrown non-Error is reported by its type, never its value", () => {
    const failure = uncaughtFailure({
      error: { email: "a@b.example" },
      message: "Uncaught [object Object]",
    });
    expect(failure?.error.message).toBe("Non-Error thrown: object");
    expect(rejectionFailure("a note's text")?.error.message).toBe("Non-Error thrown: string");
  });

  it("a rejection is reported, except an aborted request and an ApiError of a 5xx (reported with its answer)", () => {
    const error = new Error("lost");
    expect(rejectionFailure(error)).toEqual({ error, tags: { kind: "unhandled-rejection" } });
    expect(rejectionFailure(new DOMException("x", "AbortError"))).toBeUndefined();
    const apiError = (status: number) =>
      Object.assign(new Error("x"), { status, code: "internal" });
    expect(rejectionFailure(apiError(503))).toBeUndefined();
    expect(rejectionFailure(apiError(404))?.tags.kind).toBe("unhandled-rejection");
  });
});

describe("routeOf", () => {
  it("keeps the path, drops query and fragment, and folds id-like segments", () => {
    expect(routeOf("/api/auth/reset?token=abc")).toBe("/api/auth/reset");
    expect(routeOf("https://x.example/api/notes/0f9a7c2e-11aa-4bbb-8ccc-123456789abc#x")).toBe(
      "/api/notes/:id",
    );
    expect(routeOf("/api/v1/notes")).toBe("/api/v1/notes");
  });
});
