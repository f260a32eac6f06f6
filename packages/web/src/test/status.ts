import { type screen, waitFor } from "@testing-library/react";
import { expect } from "vitest";

/**
 * Waits until one of `scope`'s status messages reads `text` (or contains it): a page shows
 * "Confirming…" in its status region first, and a slower database (Postgres in CI) keeps it there
 * past a first look.
 */
export async function statusShows(
  scope: Pick<typeof screen, "getAllByRole">,
  text: string,
  match: "is" | "contains" = "is",
) {
  await waitFor(
    () => {
      const shown = scope.getAllByRole("status").map((element) => element.textContent ?? "");
      const found = shown.some((t) => (match === "is" ? t === text : t.includes(text)));
      expect(found, `status messages: ${shown.join(" | ")}`).toBe(true);
    },
    { timeout: 5_000 },
  );
}
