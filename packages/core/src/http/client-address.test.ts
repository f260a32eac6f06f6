import { randomBytes } from "node:crypto";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { isIP } from "node:net";
import { serve } from "@hono/node-server";
import fc from "fast-check";
import { describe, expect, it, onTestFinished } from "vitest";
import { rowCounts } from "../../test/app";
import { bootApp } from "../../test/database";
import { errorOf, ORIGIN } from "../../test/http";
import * as client from "../db/client";
import { parseViewerAddress } from "./client-address";

/**
 * Who may call the API and who the API thinks called it, through `site` (what the container
 * serves). Deployed (ORIGIN_SECRET set) only CloudFront's requests are answered, and the client is
 * `CloudFront-Viewer-Address`; offline it is the TCP peer. Where the socket matters the site is
 * served on a real port: `app.request` has no socket.
 */

const SECRET = randomBytes(24).toString("base64url"); // 32 characters
const PROBE = "/__test/client-address";

/**
 * The site anew with `env`, on this file's database, plus one route that answers the address
 * `clientIP` gives the login limiter (account/session.ts re-exports `clientAddress`).
 */
async function bootSite(env: Record<string, string>) {
  await bootApp(env, await client.database());
  const [{ site }, { clientAddress }] = await Promise.all([
    import("../api"),
    import("./client-address"),
  ]);
  site.get(PROBE, (c) => c.json({ address: clientAddress(c) }));
  return site;
}

/** Serves `target` on `hostname`, closed when the test ends; its base URL. */
async function listen(
  target: { fetch: (request: Request) => Response | Promise<Response> },
  hostname = "127.0.0.1",
) {
  const server = serve({ fetch: target.fetch, port: 0, hostname });
  await once(server, "listening");
  onTestFinished(async () => {
    if ("closeAllConnections" in server) server.closeAllConnections();
    await new Promise((done) => server.close(done));
  });
  const { port } = server.address() as AddressInfo;
  return `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}

const fromCloudFront = (viewer?: string, extra: Record<string, string> = {}) => ({
  "x-slipway-origin-secret": SECRET,
  ...(viewer === undefined ? {} : { "cloudfront-viewer-address": viewer }),
  ...extra,
});

/** The address the probe answered, or the error envelope. */
async function addressOf(response: Response) {
  expect(response.headers.get("cache-control")).toBe("no-store");
  if (response.status !== 200) return { status: response.status, ...(await errorOf(response)) };
  return ((await response.json()) as { address: string }).address;
}

/** Forged client addresses of every kind a caller can send: none of them may count. */
const FORGED = {
  "x-forwarded-for": "203.0.113.9, 10.0.0.1",
  forwarded: "for=203.0.113.9;proto=https",
  "x-real-ip": "203.0.113.9",
  "true-client-ip": "203.0.113.9",
};

describe("deployed (ORIGIN_SECRET): only CloudFront's requests are answered", () => {
  // Fails without the guard: every one of these was answered (200, 401, 404, or a signup 201).
  it("refuses a request without the secret, with a wrong one, or with one of another length: 403 forbidden on every path, writing nothing", async () => {
    const site = await bootSite({ ORIGIN_SECRET: SECRET });
    const before = await rowCounts();
    const wrong = [
      undefined,
      "",
      "x",
      SECRET.slice(0, -1),
      `${SECRET}x`,
      // Same length, last character changed.
      SECRET.slice(0, -1) + (SECRET.endsWith("A") ? "B" : "A"),
      SECRET.toUpperCase() === SECRET ? SECRET.toLowerCase() : SECRET.toUpperCase(),
    ];
    const targets: [string, RequestInit][] = [
      ["/api/health", {}],
      ["/api/health/ready", {}],
      ["/api/auth/me", {}],
      ["/api/openapi.json", {}],
      ["/api/no-such-thing", {}],
      ["/nope", {}],
      ["/storage/uploads/some-key", {}],
      [PROBE, {}],
      [
        "/api/auth/signup",
        {
          method: "POST",
          body: JSON.stringify({
            email: "direct@example.com",
            password: "a strong password",
            name: "D",
          }),
          headers: { "content-type": "application/json" },
        },
      ],
    ];
    for (const secret of wrong) {
      for (const [path, init] of targets) {
        const response = await site.request(path, {
          ...init,
          headers: {
            origin: ORIGIN,
            "cloudfront-viewer-address": "198.51.100.10:46532",
            ...(init.headers as Record<string, string>),
            ...(secret === undefined ? {} : { "x-slipway-origin-secret": secret }),
          },
        });
        expect(response.headers.get("x-request-id"), path).toBeTruthy();
        expect(await addressOf(response), `${path} with ${JSON.stringify(secret)}`).toEqual({
          status: 403,
          code: "forbidden",
          message: "This API is served through the site only",
        });
      }
    }
    expect(await rowCounts()).toEqual(before);
  });

  // Fails without the fix: the address was the 2nd X-Forwarded-For entry from the right.
  it.each([
    ["198.51.100.10:46532", "198.51.100.10"],
    ["2001:db8::1:46532", "2001:db8::1"],
    ["2001:DB8:0:0:0:0:0:1:443", "2001:db8::1"],
    ["::ffff:198.51.100.10:46532", "198.51.100.10"],
    ["::ffff:c633:640a:1", "198.51.100.10"],
    ["203.0.113.255:0", "203.0.113.255"],
  ])(
    "the client is CloudFront-Viewer-Address %s → %s, over a real socket, whatever else the request claims",
    async (viewer, expected) => {
      const base = await listen(await bootSite({ ORIGIN_SECRET: SECRET }));
      // The socket's peer is 127.0.0.1: a viewer address seen proves it is not what is read.
      const response = await fetch(`${base}${PROBE}`, { headers: fromCloudFront(viewer, FORGED) });
      expect(await addressOf(response)).toBe(expected);
    },
  );

  // Fails without the fix: a missing header read as "unknown", one client for everybody.
  it.each([
    [undefined, "missing"],
    ["", "malformed"],
    ["198.51.100.10", "malformed"],
    ["198.51.100.10:", "malformed"],
    ["198.51.100.10:65536", "malformed"],
    ["198.51.100.10:08080", "malformed"],
    ["[2001:db8::1]:443", "malformed"],
    ["2001:db8::1", "malformed"],
    ["fe80::1%eth0:443", "malformed"],
    ["unknown", "malformed"],
    ["203.0.113.9, 198.51.100.10:1", "malformed"],
    ["1.2.3:80", "malformed"],
  ])(
    "with the secret, CloudFront-Viewer-Address %j is a 400 naming the header (%s)",
    async (viewer, kind) => {
      const site = await bootSite({ ORIGIN_SECRET: SECRET });
      const response = await site.request(PROBE, { headers: fromCloudFront(viewer, FORGED) });
      expect(await addressOf(response)).toEqual({
        status: 400,
        code: "bad_request",
        message: `The cloudfront-viewer-address header is ${kind}`,
        details: { header: "cloudfront-viewer-address" },
      });
    },
  );

  // Fails if the exemption is dropped (ECS would replace every task) or widened.
  it("the container's own liveness check from loopback needs no secret; nothing else does", async () => {
    const site = await bootSite({ ORIGIN_SECRET: SECRET });
    const base = await listen(site);
    const health = await fetch(`${base}/api/health`);
    expect(health.status).toBe(200);
    expect(health.headers.get("cache-control")).toBe("no-store");
    expect((await fetch(`${base}/api/health`, { method: "HEAD" })).status).toBe(200);
    for (const [path, method] of [
      ["/api/health/ready", "GET"],
      ["/api/health/", "GET"],
      ["/api/health?x=1", "DELETE"],
      ["/api/auth/me", "GET"],
      [PROBE, "GET"],
    ] as const) {
      const response = await fetch(`${base}${path}`, { method, headers: { origin: ORIGIN } });
      expect(response.status, `${method} ${path}`).toBe(403);
    }
    // In-process there is no socket to prove loopback: refused like any other.
    expect((await site.request("/api/health")).status).toBe(403);
  });
});

describe("offline (no ORIGIN_SECRET): the socket's address", () => {
  // Fails without the fix only for TRUSTED_PROXIES > 0; here it proves the headers stay unread.
  it("is the TCP peer over IPv4, whatever the request claims (forged X-Forwarded-For, Forwarded, CloudFront-Viewer-Address)", async () => {
    const base = await listen(await bootSite({}));
    const response = await fetch(`${base}${PROBE}`, {
      headers: { ...FORGED, "cloudfront-viewer-address": "198.51.100.10:46532" },
    });
    expect(await addressOf(response)).toBe("127.0.0.1");
  });

  it("is the peer over IPv6, and an IPv4 peer on a dual-stack socket (::ffff:127.0.0.1) reads as 127.0.0.1", async () => {
    const site = await bootSite({});
    const dual = await listen(site, "::").catch(() => undefined);
    if (dual) {
      const port = new URL(dual).port;
      expect(await addressOf(await fetch(`http://127.0.0.1:${port}${PROBE}`))).toBe("127.0.0.1");
    }
    const v6 = await listen(site, "::1").catch(() => undefined);
    if (v6) expect(await addressOf(await fetch(`${v6}${PROBE}`))).toBe("::1");
    // This machine has IPv6 loopback (CI and dev machines do); if not, nothing above ran.
    expect(dual ?? v6, "no IPv6 socket could be opened here").toBeDefined();
  });

  it('is "unknown" only for in-process requests, which have no socket', async () => {
    const site = await bootSite({});
    expect(await addressOf(await site.request(PROBE, { headers: FORGED }))).toBe("unknown");
  });
});

/** Valid ports as CloudFront writes them: decimal, no leading zero, 0–65535. */
const validPort = (text: string) => /^(0|[1-9][0-9]*)$/.test(text) && Number(text) <= 65535;
/** An address CloudFront could report: an IP literal with no zone. */
const validIP = (text: string) => isIP(text) !== 0 && !text.includes("%");
/**
 * The oracle, written apart from the parser: some split at a colon gives an IP and a port.
 * (Only the last colon can work, since a port has none; the parser relies on that, this does not.)
 */
const splits = (text: string) => [...text].flatMap((char, index) => (char === ":" ? [index] : []));
const isValidViewerAddress = (text: string) =>
  splits(text).some((at) => validIP(text.slice(0, at)) && validPort(text.slice(at + 1)));

const port = fc.integer({ min: 0, max: 65535 }).map(String);
const ip = fc.oneof(fc.ipV4(), fc.ipV6());
/** Strings near the valid ones (the interesting boundary) and anything at all. */
const headerLike = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.tuple(ip, port).map(([address, p]) => `${address}:${p}`),
  fc.tuple(ip, fc.string({ maxLength: 6 })).map(([address, p]) => `${address}:${p}`),
  fc.tuple(fc.ipV6(), port).map(([address, p]) => `[${address}]:${p}`),
  fc.tuple(ip, fc.string({ maxLength: 4 }), port).map(([a, zone, p]) => `${a}%${zone}:${p}`),
  fc.tuple(ip, port).map(([address, p]) => `${address.toUpperCase()}:${p}`),
  fc.tuple(ip, fc.integer({ min: 65536, max: 10 ** 7 })).map(([address, p]) => `${address}:${p}`),
  fc.tuple(ip, port).map(([address, p]) => ` ${address}:${p}`),
  ip,
);

describe("parseViewerAddress (property)", () => {
  it("never throws, accepts exactly IP:port, and answers one canonical IP for it", () => {
    fc.assert(
      fc.property(headerLike, (text) => {
        const parsed = parseViewerAddress(text);
        expect(parsed !== undefined).toBe(isValidViewerAddress(text));
        if (parsed === undefined) return;
        expect(isIP(parsed)).not.toBe(0);
        // Canonical: parsing its own output gives it back.
        expect(parseViewerAddress(`${parsed}:1`)).toBe(parsed);
      }),
      { numRuns: 2000 },
    );
  });

  it("reads every IP CloudFront can write with any port, IPv4 as written", () => {
    fc.assert(
      fc.property(ip, port, (address, p) => {
        const parsed = parseViewerAddress(`${address}:${p}`);
        if (isIP(address) === 4) expect(parsed).toBe(address);
        else expect(parsed && isIP(parsed)).toBeTruthy();
      }),
    );
  });

  it("through the site: any header value is either the parsed address or the documented 400, never anything else", async () => {
    const site = await bootSite({ ORIGIN_SECRET: SECRET });
    // What an HTTP header can carry (Headers trims surrounding whitespace and refuses CR, LF, NUL).
    const value = headerLike.filter((text) => /^[\t\x20-\x7e\x80-\xff]*$/.test(text));
    await fc.assert(
      fc.asyncProperty(value, async (text) => {
        const response = await site.request(PROBE, { headers: fromCloudFront(text) });
        const expected = parseViewerAddress(text.replace(/^[\t ]+|[\t ]+$/g, ""));
        if (expected !== undefined) {
          expect(await addressOf(response)).toBe(expected);
        } else {
          expect(await addressOf(response)).toMatchObject({ status: 400, code: "bad_request" });
        }
      }),
      { numRuns: 300 },
    );
  });
});
