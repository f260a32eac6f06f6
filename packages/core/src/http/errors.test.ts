import { describe, expect, it } from "vitest";
import { errorOf } from "../../test/http";
import { AppError } from "../error";
import { createApp } from "./app";

/**
 * Retry-After comes from the one error handler for any error that says how long to wait, so a
 * route never sets it by hand (and cannot forget to).
 */
describe("error handler: Retry-After", () => {
  const app = createApp()
    .get("/limited", () => {
      throw new AppError("rate_limited", "Slow down", { retryAfterSeconds: 42 });
    })
    .get("/busy", () => {
      throw new AppError("internal_error", "Busy", { retryAfterSeconds: 0.2 });
    })
    .get("/plain", () => {
      throw new AppError("rate_limited", "No hint", { limit: 5 });
    })
    .get("/odd", () => {
      throw new AppError("rate_limited", "Bad hint", { retryAfterSeconds: "soon" });
    });

  it("any AppError with details.retryAfterSeconds sets it, in whole seconds (at least 1)", async () => {
    const limited = await app.request("/limited");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("42");
    expect(await errorOf(limited)).toEqual({
      code: "rate_limited",
      message: "Slow down",
      details: { retryAfterSeconds: 42 },
    });
    const busy = await app.request("/busy");
    expect(busy.headers.get("retry-after")).toBe("1");
  });

  it("no header without a usable number", async () => {
    expect((await app.request("/plain")).headers.get("retry-after")).toBeNull();
    expect((await app.request("/odd")).headers.get("retry-after")).toBeNull();
  });
});
