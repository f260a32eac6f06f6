import { describe, expect, it } from "vitest";
import { shortRequestLine } from "../../../scripts/dev/request-line.mjs";

describe("npm run dev's request lines", () => {
  it("shortens the API's request line to method, path, status, time and trace id", () => {
    const line =
      '{"level":"info","time":"2026-12-01T20:00:00.000Z","message":"request","requestId":"r-1","traceId":"4bf92f3577b34da6a3ce929d0e0e4736","method":"GET","path":"/api/notes","status":200,"durationMs":4}';
    expect(shortRequestLine(line)).toBe(
      "GET /api/notes 200 4 ms  trace 4bf92f3577b34da6a3ce929d0e0e4736",
    );
  });

  it("leaves every other line as it is", () => {
    for (const line of [
      '{"level":"info","time":"t","message":"api listening","url":"http://localhost:3000"}',
      '{"level":"error","time":"t","message":"request","requestId":"r"}',
      '{"level":"info","message":"request" not json',
      "plain text",
    ]) {
      expect(shortRequestLine(line)).toBe(line);
    }
  });
});
