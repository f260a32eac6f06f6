import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { app } from "../api";
import { withLogContext } from "../log";
import {
  currentTrace,
  formatTraceparent,
  parseTraceparent,
  recording,
  span,
  startTrace,
} from "./trace";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "00f067aa0ba902b7";

const hex = (length: number) =>
  fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: length, maxLength: length });

/** What the W3C spec accepts, written independently of the parser: the oracle for the properties. */
function validBySpec(header: string): boolean {
  const match = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(.*)$/s.exec(header);
  if (!match) return false;
  const [, version, trace, parent, , rest] = match as unknown as string[];
  if (version === "ff") return false;
  if (trace === "0".repeat(32) || parent === "0".repeat(16)) return false;
  if (version === "00") return rest === "";
  return rest === "" || rest?.startsWith("-") === true;
}

describe("traceparent (W3C Trace Context)", () => {
  it("accepts the spec's example and reads the sampled flag", () => {
    expect(parseTraceparent(`00-${TRACE}-${PARENT}-01`)).toEqual({
      traceId: TRACE,
      parentSpanId: PARENT,
      sampled: true,
    });
    expect(parseTraceparent(`00-${TRACE}-${PARENT}-00`)?.sampled).toBe(false);
    // A later version may append fields after a dash; its flags' other bits are ignored.
    expect(parseTraceparent(`01-${TRACE}-${PARENT}-03-future`)?.sampled).toBe(true);
  });

  it.each([
    ["upper-case hex", `00-${TRACE.toUpperCase()}-${PARENT}-01`],
    ["an all-zero trace id", `00-${"0".repeat(32)}-${PARENT}-01`],
    ["an all-zero parent id", `00-${TRACE}-${"0".repeat(16)}-01`],
    ["version ff", `ff-${TRACE}-${PARENT}-01`],
    ["version 00 with more after it", `00-${TRACE}-${PARENT}-01-extra`],
    ["a later version with no dash after the flags", `01-${TRACE}-${PARENT}-01x`],
    ["a short trace id", `00-${TRACE.slice(1)}-${PARENT}-01`],
    ["two headers joined", `00-${TRACE}-${PARENT}-01, 00-${TRACE}-${PARENT}-01`],
    ["surrounding space", ` 00-${TRACE}-${PARENT}-01`],
    ["non-hex flags", `00-${TRACE}-${PARENT}-0g`],
    ["nothing", ""],
  ])("refuses %s", (_, header) => {
    expect(parseTraceparent(header)).toBeUndefined();
  });

  it("never throws, and accepts exactly what the spec accepts, over arbitrary strings", () => {
    const nearValid = fc
      .tuple(hex(2), hex(32), hex(16), hex(2), fc.string({ maxLength: 4 }), fc.nat(60))
      .map(([version, trace, parent, flags, tail, cut]) => {
        const header = `${version}-${trace}-${parent}-${flags}${tail}`;
        return cut < 55 ? header.slice(0, cut) + header.slice(cut + 1) : header;
      });
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary", maxLength: 80 }), nearValid), (header) => {
        const parsed = parseTraceparent(header);
        expect(parsed !== undefined).toBe(validBySpec(header));
        if (parsed) {
          expect(parsed.traceId).toBe(header.slice(3, 35));
          expect(parsed.parentSpanId).toBe(header.slice(36, 52));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("what it formats, it parses back", () => {
    fc.assert(
      fc.property(hex(32), hex(16), fc.boolean(), (traceId, spanId, sampled) => {
        fc.pre(!/^0+$/.test(traceId) && !/^0+$/.test(spanId));
        expect(parseTraceparent(formatTraceparent({ traceId, spanId, sampled }))).toEqual({
          traceId,
          parentSpanId: spanId,
          sampled,
        });
      }),
    );
  });
});

describe("traces without Sentry or the dev buffer", () => {
  it("a trace has ids but records no spans: span() only runs its function", async () => {
    const trace = startTrace();
    expect(trace.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(trace.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(trace.sampled).toBe(false);
    expect(trace.spans).toBeUndefined();
    await withLogContext(
      {},
      async () => {
        expect(currentTrace()).toBe(trace);
        expect(recording()).toBeUndefined();
        expect(await span("x", "y", async () => 42)).toBe(42);
      },
      trace,
    );
    expect(trace.spans).toBeUndefined();
  });

  it("the API continues a valid traceparent, starts a new trace for anything else, never a 5xx", async () => {
    const printable = fc.string({
      unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
      maxLength: 70,
    });
    const valid = fc
      .tuple(hex(32), hex(16))
      .filter(([t, p]) => !/^0+$/.test(t) && !/^0+$/.test(p))
      .map(([t, p]) => `00-${t}-${p}-01`);
    await fc.assert(
      fc.asyncProperty(fc.oneof(printable, valid), async (header) => {
        const response = await app.request("/api/health", { headers: { traceparent: header } });
        expect(response.status).toBeLessThan(500);
        const traceId = response.headers.get("x-trace-id");
        expect(traceId).toMatch(/^[0-9a-f]{32}$/);
        // Headers are trimmed by the Fetch API before the app sees them.
        const parsed = parseTraceparent(header.trim());
        if (parsed) expect(traceId).toBe(parsed.traceId);
        else expect(traceId).not.toBe(header.slice(3, 35));
      }),
      { numRuns: 300 },
    );
  });
});
