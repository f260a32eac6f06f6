import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";

/**
 * A loopback stand-in for Sentry's ingest, for the browser (as packages/core/test/sentry-server.ts
 * is for the server's SDK): the page's SDK posts envelopes to /api/<project>/envelope/ across
 * origins, so it answers with CORS headers as Sentry does. It runs in the e2e global setup, before
 * the site is built with its DSN; tests read what arrived with GET /events (and clear it with
 * DELETE /events), since they run in another process.
 */

export interface IngestedEvent {
  /** The raw envelope, to search for anything that must not be there. */
  raw: string;
  /** The envelope's item types, in order (an `event` per report; nothing else is expected). */
  items: string[];
  event: {
    release?: string;
    environment?: string;
    tags?: Record<string, string>;
    fingerprint?: string[];
    request?: { url?: string; headers?: unknown };
    user?: unknown;
    breadcrumbs?: unknown;
    contexts?: { trace?: { trace_id?: string } };
    exception?: { values?: { type?: string; value?: string }[] };
  };
}

export async function startSentryIngest() {
  const events: IngestedEvent[] = [];
  const server = createServer((req, res) => {
    const cors = {
      "access-control-allow-origin": "*",
      "access-control-allow-headers": "content-type",
      "access-control-allow-methods": "POST, GET, DELETE",
    };
    if (req.method === "OPTIONS") return void res.writeHead(204, cors).end();
    if (req.url === "/events" && req.method === "GET")
      return void res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify(events));
    if (req.url === "/events" && req.method === "DELETE") {
      events.length = 0;
      return void res.writeHead(204).end();
    }
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const raw = (req.headers["content-encoding"] === "gzip" ? gunzipSync(body) : body).toString(
        "utf8",
      );
      if (/^\/api\/\d+\/envelope\//.test(req.url ?? "")) {
        const lines = raw.split("\n").filter(Boolean);
        const items: string[] = [];
        let event: IngestedEvent["event"] | undefined;
        // Envelope: a header line, then (item header, item payload) pairs.
        for (let i = 1; i + 1 < lines.length; i += 2) {
          const item = JSON.parse(lines[i] ?? "{}") as { type?: string };
          items.push(item.type ?? "?");
          if (item.type === "event") event = JSON.parse(lines[i + 1] ?? "{}");
        }
        if (event) events.push({ raw, items, event });
      }
      res.writeHead(200, { ...cors, "content-type": "application/json" }).end("{}");
    });
  });
  server.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    dsn: `http://e2epublickey@127.0.0.1:${port}/7`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
