import { describe, expect, it } from "vitest";
import { formatBytes, uploadErrorMessage } from "./upload";

describe("upload helpers", () => {
  it.each([
    [0, "0 B"],
    [1023, "1023 B"],
    [1536, "1.5 KB"],
    [10 * 1024 * 1024, "10 MB"],
    [5 * 1024 ** 3, "5 GB"],
  ])("formatBytes(%d) is %s", (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it("explains a refused upload from the offline store (JSON) or from S3 (XML)", () => {
    expect(
      uploadErrorMessage(
        413,
        '{"error":{"code":"payload_too_large","message":"The file is larger than 70 bytes"}}',
      ),
    ).toBe("The upload was refused: The file is larger than 70 bytes");
    expect(
      uploadErrorMessage(
        403,
        "<Error><Code>AccessDenied</Code><Message>Invalid according to Policy: Policy expired.</Message></Error>",
      ),
    ).toBe("The upload was refused: Invalid according to Policy: Policy expired.");
    expect(uploadErrorMessage(502, "")).toBe("The upload failed (502)");
  });
});
