import { once } from "node:events";
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import { serve } from "@hono/node-server";
import { describe, expect, it, onTestFinished } from "vitest";
import { client, rowCounts } from "../../test/app";
import { ORIGIN } from "../../test/http";
import { site } from "../api";
import { loadConfig } from "../config";
import { rollback } from "../db/transaction";
import { devToolsEnabled } from "./dev.routes";

const { tasks } = client().api.dev;

describe("offline dev routes", () => {
  it("exist only offline: a deployed stage (SST links present) has none", () => {
    expect(devToolsEnabled(loadConfig({}, {}))).toBe(true);
    const deployed = loadConfig(
      {},
      {
        Database: { host: "db", port: 5432, username: "u", password: "p", database: "d" },
        TaskQueue: { url: "https://sqs.us-east-1.amazonaws.com/1/q" },
      },
    );
    expect(devToolsEnabled(deployed)).toBe(false);
  });

  it("lists tasks, schedules and queue depths", async () =>
    rollback(async () => {
      const response = await tasks.$get();
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({
        queue: "local",
        tasks: expect.arrayContaining(["maintenance.cleanup", "digest.daily", "mail.deliver"]),
        schedules: expect.arrayContaining([
          expect.objectContaining({ name: "maintenance-cleanup-hourly", next: expect.any(String) }),
        ]),
        messages: { visible: 0, total: 0 },
        deadLetters: 0,
      });
    }));

  it("queues a task to run now; a bad payload is 400 and an unknown task 404, queueing nothing", async () =>
    rollback(async () => {
      const queued = await tasks.run.$post({ json: { task: "maintenance.cleanup", payload: {} } });
      expect(queued.status).toBe(202);
      expect(await queued.json()).toEqual({ id: expect.stringMatching(/^tsk_/) });

      const bad = await tasks.run.$post({
        json: { task: "maintenance.cleanup", payload: { x: 1 } },
      });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ error: { code: "validation_failed" } });
      const unknown = await tasks.run.$post({ json: { task: "nope.task" } });
      expect(unknown.status).toBe(404);

      const overview = await (await tasks.$get()).json();
      expect(overview.messages.total).toBe(1);
    }));
});

/** The site on a real port (the Host header is the socket's, not app.request's URL). */
async function served(hostname = "127.0.0.1") {
  const server = serve({ fetch: site.fetch, port: 0, hostname });
  await once(server, "listening");
  onTestFinished(async () => {
    if ("closeAllConnections" in server) server.closeAllConnections();
    await new Promise((done) => server.close(done));
  });
  return (server.address() as AddressInfo).port;
}

/** A request with exactly this Host header (fetch does not let a caller choose it). */
function withHost(
  port: number,
  host: string,
  method = "GET",
  path = "/api/dev/mail",
  to = "127.0.0.1",
  headers: Record<string, string> = {},
) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const outgoing = request(
      { host: to, port, method, path, headers: { host, origin: ORIGIN, ...headers } },
      (response) => {
        let body = "";
        response.on("data", (chunk) => {
          body += chunk;
        });
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    outgoing.on("error", reject);
    outgoing.end();
  });
}

describe("offline dev routes: DNS rebinding", () => {
  // Fails without the Host check: a page on evil.example resolved to 127.0.0.1 read the dev
  // mailbox (sign-in and reset links) from the browser, same-origin to itself.
  it.each([
    "evil.example",
    "evil.example:3000",
    "localhost.evil.example",
    "127.0.0.1.nip.io",
    "localhost.",
    "192.0.2.2:3000",
    "0.0.0.0",
  ])("Host %s is 403 forbidden on the dev routes", async (host) => {
    const port = await served();
    const answer = await withHost(port, host);
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toEqual({
      error: {
        code: "forbidden",
        message: "The dev tools answer only requests to localhost, 127.0.0.1 or [::1]",
      },
    });
  });

  // The Node adapter refuses a Host no URL can be built from before the app sees it.
  it.each(["[::1].evil.example", "[::ffff:127.0.0.1]"])("Host %s is refused too", async (host) => {
    const port = await served();
    expect((await withHost(port, host)).status).toBe(400);
  });

  it.each([
    "localhost",
    "localhost:5173",
    "LOCALHOST:3000",
    "127.0.0.1",
    "127.0.0.1:3000",
    "[::1]",
    "[::1]:5173",
  ])("Host %s reaches them", async (host) => {
    const port = await served();
    expect((await withHost(port, host)).status).toBe(200);
  });

  it("a rebinding POST queues nothing, and the rest of the API is not affected by Host", async () => {
    const port = await served();
    const before = await rowCounts();
    const run = await withHost(port, "evil.example", "POST", "/api/dev/tasks/redrive");
    expect(run.status).toBe(403);
    expect(await rowCounts()).toEqual(before);
    expect((await withHost(port, "evil.example", "GET", "/api/health")).status).toBe(200);
  });
});

/** One of this machine's IPv4 addresses other than loopback (a LAN peer's view of it). */
function lanAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((nic) => nic && !nic.internal && nic.family === "IPv4")?.address;
}

describe("offline dev routes: a LAN peer", () => {
  // Fails with the Host check alone: with HOST=0.0.0.0 a machine on the LAN wrote
  // `Host: localhost` and read the dev mailbox, or queued tasks (attack finding 6).
  const lan = lanAddress();
  it.skipIf(!lan).each(["GET /api/dev/mail", "POST /api/dev/tasks/redrive"])(
    "%s over a non-loopback socket is 403 whatever the Host; over loopback it answers",
    async (route) => {
      const [method = "GET", path] = route.split(" ");
      const port = await served("0.0.0.0");
      const before = await rowCounts();
      const remote = await withHost(port, "localhost", method, path, lan);
      expect(remote.status).toBe(403);
      expect(JSON.parse(remote.body)).toEqual({
        error: {
          code: "forbidden",
          message: "The dev tools answer only requests from this machine (a loopback address)",
        },
      });
      expect(await rowCounts()).toEqual(before);
      // The rest of the API still answers that peer, and the dev tools this machine.
      expect((await withHost(port, "localhost", "GET", "/api/health", lan)).status).toBe(200);
      expect((await withHost(port, "localhost", method, path)).status).toBe(200);
    },
  );

  it("a local proxy forwarding for a LAN peer (X-Forwarded-For, as Vite's with xfwd) is 403; for loopback it answers", async () => {
    const port = await served();
    const via = (xff: string) =>
      withHost(port, "localhost", "GET", "/api/dev/mail", "127.0.0.1", { "x-forwarded-for": xff });
    expect((await via("192.0.2.77")).status).toBe(403);
    expect((await via("127.0.0.1, 192.0.2.77")).status).toBe(403);
    expect((await via("not an address")).status).toBe(403);
    expect((await via("127.0.0.1")).status).toBe(200);
    expect((await via("::1, ::ffff:127.0.0.1")).status).toBe(200);
  });
});
