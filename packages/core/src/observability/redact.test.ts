import { DrizzleQueryError } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import {
  errorFields,
  errorSummary,
  HIDDEN,
  redactError,
  redactQueryText,
  scrubPayload,
} from "./redact";

const failed = (params: unknown[], cause?: unknown) =>
  new DrizzleQueryError('select "id" from "note" where "id" = $1', params, cause as Error);

describe("redaction of failed queries", () => {
  it("keeps the SQL, the stack's frames and the database's error; drops the parameters", () => {
    const database = Object.assign(new Error("deadlock detected"), {
      code: "40P01",
      detail: "Process 1 waits for planted-detail",
    });
    const fields = errorFields(failed(["planted-param", "line\n    at fake (x:1:1)"], database));
    expect(fields.message).toBe('Failed query: select "id" from "note" where "id" = $1');
    expect(String(fields.stack)).toMatch(/^Error: Failed query: select .*\n {4}at /);
    expect(fields.cause).toMatchObject({ message: "deadlock detected", code: "40P01" });
    const text = JSON.stringify(fields);
    for (const secret of ["planted-param", "fake (x:1:1)", "planted-detail", "params:"])
      expect(text).not.toContain(secret);
  });

  it("finds a failed query further down a cause chain, and leaves other errors as they are", () => {
    const outer = new Error("task failed", { cause: failed(["planted-param"]) });
    const redacted = redactError(outer) as Error;
    expect(redacted.message).toBe("task failed");
    expect(JSON.stringify(errorFields(outer))).not.toContain("planted-param");
    const plain = new Error("plain", { cause: new Error("inner") });
    expect(redactError(plain)).toBe(plain);
  });

  it("survives a cause chain that loops", () => {
    const a = new Error("a");
    const b = new Error("b", { cause: a });
    a.cause = b;
    expect(errorFields(a)).toMatchObject({ message: "a", cause: { message: "b" } });
    expect(errorFields(failed(["planted-param"], a)).cause).toMatchObject({ message: "a" });
  });

  it("strips the parameters from text that already left an error", () => {
    expect(redactQueryText(failed(["planted", "multi\nline"]).message)).toBe(
      'Failed query: select "id" from "note" where "id" = $1',
    );
    expect(redactQueryText("something\nparams: stays")).toBe("something\nparams: stays");
  });
});

describe("scrubPayload", () => {
  it("hides secret-looking keys and a task's sensitive fields at any depth, keeps the rest", () => {
    const payload = {
      to: "ada@example.com",
      text: "your link",
      nested: [
        { resetToken: "t0k3n", count: 2 },
        { Authorization: "Bearer x", ok: true },
      ],
      apiKey: "k",
      password: "p",
      keep: null,
    };
    expect(scrubPayload(payload, ["text"])).toEqual({
      to: "ada@example.com",
      text: HIDDEN,
      nested: [
        { resetToken: HIDDEN, count: 2 },
        { Authorization: HIDDEN, ok: true },
      ],
      apiKey: HIDDEN,
      password: HIDDEN,
      keep: null,
    });
    expect(scrubPayload("a string")).toBe("a string");
    expect(scrubPayload(null)).toBeNull();
  });
});

describe("errorSummary", () => {
  it("is the redacted name and message, cut at 1000 characters", () => {
    expect(errorSummary(failed(["ada@example.com"]))).toBe(
      'Error: Failed query: select "id" from "note" where "id" = $1',
    );
    const long = errorSummary(new Error("x".repeat(5000)));
    expect(long).toHaveLength(1000);
    expect(long.endsWith("…")).toBe(true);
    expect(errorSummary("a string")).toBe("a string");
  });
});
