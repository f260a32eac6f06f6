import { useEffect, useState } from "react";
import { api } from "./api";

type Status = { state: "loading" } | { state: "ok" } | { state: "down"; reason: string };

export function App() {
  const [status, setStatus] = useState<Status>({ state: "loading" });

  useEffect(() => {
    const controller = new AbortController();
    api.api.health
      .$get(undefined, { init: { signal: controller.signal } })
      .then(async (response) => {
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const body = await response.json();
        setStatus(body.status === "ok" ? { state: "ok" } : { state: "down", reason: body.status });
      })
      .catch((error: unknown) => {
        if (!controller.signal.aborted) setStatus({ state: "down", reason: String(error) });
      });
    return () => controller.abort();
  }, []);

  return (
    <main
      style={{
        fontFamily: "system-ui, sans-serif",
        maxWidth: 640,
        margin: "4rem auto",
        padding: "0 1rem",
      }}
    >
      <h1>Slipway</h1>
      <p role="status" aria-live="polite">
        API:{" "}
        {status.state === "loading"
          ? "checking…"
          : status.state === "ok"
            ? "ok"
            : `unavailable (${status.reason})`}
      </p>
    </main>
  );
}
