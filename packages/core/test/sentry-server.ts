import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { onTestFinished } from "vitest";

export interface ReceivedEvent {
  /** The raw envelope, to search for anything that must not be there. */
  raw: string;
  event: {
    tags?: Record<string, string>;
    user?: Record<string, unknown>;
    environment?: string;
    release?: string;
    exception?: { values?: { value?: string }[] };
  };
}

export interface ReceivedSpan {
  trace_id: string;
  span_id: string;
  parent_span_id?: string;
  op: string;
  description: string;
  start_timestamp: number;
  timestamp: number;
  status: string;
  data?: Record<string, unknown>;
}

export interface ReceivedTransaction {
  raw: string;
  event: {
    transaction: string;
    start_timestamp: number;
    timestamp: number;
    contexts: {
      trace: {
        trace_id: string;
        span_id: string;
        parent_span_id?: string;
        op: string;
        status: string;
      };
    };
    spans: ReceivedSpan[];
    tags?: Record<string, string>;
    release?: string;
    environment?: string;
  };
}

/**
 * A loopback stand-in for Sentry's ingest: accepts envelopes at /api/<project>/envelope/ and
 * keeps the error events and the transactions. The SDK under test talks real HTTP to it.
 */
export async function sentryServer() {
  const events: ReceivedEvent[] = [];
  const transactions: ReceivedTransaction[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const raw = (req.headers["content-encoding"] === "gzip" ? gunzipSync(body) : body).toString(
        "utf8",
      );
      const lines = raw.split("\n").filter(Boolean);
      // Envelope: a header line, then (item header, item payload) pairs.
      for (let i = 1; i + 1 < lines.length; i += 2) {
        const item = JSON.parse(lines[i] ?? "{}") as { type?: string };
        if (item.type === "event") events.push({ raw, event: JSON.parse(lines[i + 1] ?? "{}") });
        if (item.type === "transaction") {
          transactions.push({ raw, event: JSON.parse(lines[i + 1] ?? "{}") });
        }
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  server.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return { dsn: `http://publickey@127.0.0.1:${port}/1`, events, transactions };
}
