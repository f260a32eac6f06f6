import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { entityTag, noneMatch, PRIVATE_REVALIDATE } from "../../packages/core/src/http/conditional";
import {
  authenticate,
  createNote,
  error,
  listNotes,
  port,
  readNote,
  sessionToken,
  sql,
} from "./work";

/**
 * The API bench's baseline (bench/api.ts): raw `node:http` serving the four measured routes with
 * the same statements and JSON as Slipway (work.ts), the note read with the same conditional
 * headers (its ETag, the SHA-1 of the body, and Cache-Control; a matching If-None-Match gets the
 * 304), and nothing else: no framework, no request id, no log line, no security headers, no
 * origin-secret check. What Slipway spends beyond this is what the bench's ratio measures.
 */

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  cookie?: string,
  revalidate?: IncomingMessage,
) {
  const text = JSON.stringify(body);
  const headers: Record<string, string | number> = {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  };
  if (cookie) headers["set-cookie"] = cookie;
  if (revalidate) {
    // The app's own tag and match (http/conditional.ts), so both answer alike by construction.
    const tag = entityTag(text);
    headers.etag = tag;
    headers["cache-control"] = PRIVATE_REVALIDATE;
    if (noneMatch(revalidate.headers["if-none-match"], tag)) {
      delete headers["content-type"];
      delete headers["content-length"];
      return res.writeHead(304, headers).end();
    }
  }
  res.writeHead(status, headers).end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  const url = req.url ?? "/";
  const path = url.split("?")[0] ?? "/";
  const auth = await authenticate(sessionToken(req.headers.cookie));
  const cookie = auth?.cookie;
  if (!auth) return send(res, 401, error("unauthorized", "Sign in first"));
  const { user } = auth;

  if (req.method === "GET" && path === "/api/auth/me") return send(res, 200, { user }, cookie);
  if (req.method === "GET" && path === "/api/notes") {
    return send(res, 200, await listNotes(user), cookie);
  }
  if (req.method === "POST" && path === "/api/notes") {
    const answer = await createNote(user, await readBody(req));
    return send(res, answer.status, answer.body, cookie);
  }
  if (req.method === "GET" && path.startsWith("/api/notes/")) {
    const found = await readNote(user, decodeURIComponent(path.slice("/api/notes/".length)));
    if (!found) return send(res, 404, error("not_found", "Note not found"), cookie);
    return send(res, 200, found, cookie, req);
  }
  send(res, 404, error("not_found", `No route for ${req.method} ${path}`), cookie);
}

const server = createServer((req, res) => {
  handle(req, res).catch((failure: unknown) => {
    process.stderr.write(`baseline: ${String(failure)}\n`);
    if (!res.headersSent) send(res, 500, error("internal_error", "Something went wrong"));
  });
});
server.listen(port, "127.0.0.1", () => {
  process.stdout.write(`baseline listening on ${port}\n`);
});
process.on("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
  void sql.end({ timeout: 1 }).then(() => process.exit(0));
});
