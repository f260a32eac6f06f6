import { describe, expect, it } from "vitest";
import { rejectReason } from "./attachment.worker";
import type { Inspection } from "./inspect";

const found = (size: number, detectedType: string | undefined): Inspection => ({
  size,
  detectedType,
  sha256: "0".repeat(64),
});

describe("the verdict on a checked upload", () => {
  it.each([
    ["matches: PNG declared, PNG found", "image/png", 100, found(100, "image/png"), null],
    ["an APNG is a PNG (browsers say PNG)", "image/png", 100, found(100, "image/apng"), null],
    ["plain text", "text/plain", 5, found(5, "text/plain"), null],
    [
      "nothing left to read",
      "image/png",
      100,
      undefined,
      "The upload expired before it could be checked",
    ],
    [
      "larger than declared",
      "image/png",
      100,
      found(101, "image/png"),
      "The file has 101 bytes, not the 100 declared",
    ],
    [
      "size is checked before type",
      "image/png",
      100,
      found(99, "application/pdf"),
      "The file has 99 bytes, not the 100 declared",
    ],
    [
      "another type",
      "image/png",
      100,
      found(100, "application/pdf"),
      "The file's content is application/pdf, not image/png",
    ],
    [
      "an unknown type",
      "application/pdf",
      100,
      found(100, undefined),
      "The file's content is of an unknown type, not application/pdf",
    ],
    [
      "APNG is not accepted for another declared type",
      "image/gif",
      100,
      found(100, "image/apng"),
      "The file's content is image/apng, not image/gif",
    ],
  ] as const)("%s", (_, contentType, size, inspection, expected) => {
    expect(rejectReason({ contentType, size }, inspection)).toBe(expected);
  });
});
