import { describe, expect, it, vi } from "vitest";
import { bootApp } from "../../test/database";
import * as client from "../db/client";

/**
 * The origin secret is compared in constant time: a `===` stops at the first differing byte, so
 * response times would tell a caller how much of a guess is right. Timing itself is too noisy to
 * test here, so this watches the comparison: every request with a secret header, right, wrong or
 * of another length, goes through `crypto.timingSafeEqual` on two buffers of equal length.
 */

const compared = vi.hoisted(() => ({ calls: [] as [number, number][] }));

vi.mock("node:crypto", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:crypto")>();
  return {
    ...actual,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      compared.calls.push([a.byteLength, b.byteLength]);
      return actual.timingSafeEqual(a, b);
    },
  };
});

const SECRET = "0123456789abcdef0123456789abcdef-origin";

describe("origin secret comparison", () => {
  // Fails with a plain `sent === secret`: no call is recorded.
  it.each([
    ["the right secret", SECRET, 400], // then the viewer address is missing: past the secret
    ["a wrong one of the same length", `${SECRET.slice(0, -1)}X`, 403],
    ["a shorter one", "x", 403],
    ["a longer one", `${SECRET}${SECRET}`, 403],
    ["an empty one", "", 403],
  ])("goes through timingSafeEqual on equal lengths for %s", async (_, sent, status) => {
    await bootApp({ ORIGIN_SECRET: SECRET }, await client.database());
    const { site } = await import("../api");
    compared.calls.length = 0;
    const response = await site.request("/api/auth/me", {
      headers: { "x-slipway-origin-secret": sent },
    });
    expect(response.status).toBe(status);
    expect(compared.calls.length).toBeGreaterThan(0);
    for (const [a, b] of compared.calls) expect(a).toBe(b);
  });
});
