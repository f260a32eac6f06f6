import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { getCookie } from "hono/cookie";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { revalidatedJSON } from "../../packages/core/src/http/conditional";
import {
  authenticate,
  cookieName,
  createNote,
  error,
  listNotes,
  port,
  readNote,
  sql,
  type User,
} from "./work";

/**
 * The framework's floor (`npm run bench -- api --hono`): the baseline's work (work.ts: the same
 * statements, the same JSON) served by Hono on @hono/node-server, as the app is, written the way
 * Hono's documentation writes an app (a session middleware, one handler per route, `c.json`,
 * `getCookie`, `c.req.text()`; the read answered by the app's own `revalidatedJSON`), with none
 * of the app's middleware: no request id, log line, trace, metrics, security headers, origin
 * check, read scope or availability guard. Its distance from the baseline is what the framework
 * costs; the app's distance from it is what the app's own middleware costs (ADR 020).
 */

const app = new Hono<{ Variables: { user: User } }>();
app.notFound((c) => c.json(error("not_found", `No route for ${c.req.method} ${c.req.path}`), 404));
app.use(async (c, next) => {
  const auth = await authenticate(getCookie(c, cookieName));
  if (!auth) return c.json(error("unauthorized", "Sign in first"), 401);
  c.set("user", auth.user);
  if (auth.cookie) c.header("set-cookie", auth.cookie);
  await next();
});
app.get("/api/auth/me", (c) => c.json({ user: c.var.user }));
app.get("/api/notes", async (c) => c.json(await listNotes(c.var.user)));
app.post("/api/notes", async (c) => {
  const answer = await createNote(c.var.user, await c.req.text());
  return c.json(answer.body, answer.status as ContentfulStatusCode);
});
app.get("/api/notes/:id", async (c) => {
  const found = await readNote(c.var.user, c.req.param("id"));
  if (!found) return c.json(error("not_found", "Note not found"), 404);
  return revalidatedJSON(c, found);
});

const server = serve({ fetch: app.fetch, port, hostname: "127.0.0.1" }, () => {
  process.stdout.write(`hono listening on ${port}\n`);
}) as Server;
process.on("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
  void sql.end({ timeout: 1 }).then(() => process.exit(0));
});
