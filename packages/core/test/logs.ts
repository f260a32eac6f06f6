import { onTestFinished, vi } from "vitest";

/**
 * Captures the JSON log lines written during the test (and keeps them off the console),
 * so a test can assert what was logged. Restored when the test finishes.
 */
export function captureLogs() {
  const lines: Record<string, unknown>[] = [];
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    for (const line of String(chunk).split("\n").filter(Boolean)) {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    return true;
  });
  onTestFinished(() => spy.mockRestore());
  return lines;
}
