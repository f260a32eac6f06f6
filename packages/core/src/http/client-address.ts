import { timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { config } from "../config";
import { AppError } from "../error";

/**
 * Who sent a request, and whether it came the one way it may come.
 * Deployed, CloudFront adds `x-slipway-origin-secret` to every `/api` origin request and
 * `CloudFront-Viewer-Address` (the viewer's IP and source port, as CloudFront's TCP peer saw it).
 * API Gateway's `execute-api` URL is public too, so without the secret a request is refused, and
 * the address is never read from `X-Forwarded-For`, which any caller can write. Offline (no
 * ORIGIN_SECRET) the address is the socket's.
 */

export const ORIGIN_SECRET_HEADER = "x-slipway-origin-secret";
export const VIEWER_ADDRESS_HEADER = "cloudfront-viewer-address";

declare module "hono" {
  interface ContextVariableMap {
    /** The client's address, set once per request by `originGuard`. */
    clientAddress: string;
  }
}

const PORT = /^(0|[1-9][0-9]{0,4})$/;
const MAPPED_IPV4 = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/**
 * One spelling per address, so a rate-limit key cannot be dodged by writing it another way:
 * IPv6 compressed and lower-case (WHATWG URL serialization), IPv4-mapped IPv6 as the IPv4 it is.
 */
export function canonicalAddress(ip: string): string {
  if (isIP(ip) === 4) return ip;
  const v6 = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  const mapped = MAPPED_IPV4.exec(v6);
  if (!mapped) return v6;
  const [high, low] = [Number.parseInt(mapped[1] ?? "", 16), Number.parseInt(mapped[2] ?? "", 16)];
  return [high >> 8, high & 255, low >> 8, low & 255].join(".");
}

/**
 * What a per-address limit counts: an IPv4 address itself, an IPv6 address's /64. One subscriber
 * is usually given a whole /64 (RFC 6177 recommends at least that), so counting single IPv6
 * addresses would let one client take 2^64 fresh keys. Anything not an address is kept as it is.
 */
export function addressBlock(address: string): string {
  if (isIP(address) !== 6) return address;
  const [head = "", tail = ""] = canonicalAddress(address).split("::");
  const groups = head ? head.split(":") : [];
  const rest = tail ? tail.split(":") : [];
  const full = [...groups, ...Array(8 - groups.length - rest.length).fill("0"), ...rest];
  return `${full.slice(0, 4).join(":")}::/64`;
}

/**
 * `CloudFront-Viewer-Address` as CloudFront writes it: `198.51.100.10:46532`,
 * `2001:db8::1:46532` (the port after the last colon, no brackets). The address, canonical, or
 * undefined for anything else (no port, a port over 65535, a zone id, brackets, spaces).
 */
export function parseViewerAddress(value: string): string | undefined {
  const colon = value.lastIndexOf(":");
  if (colon < 0) return undefined;
  const ip = value.slice(0, colon);
  const port = value.slice(colon + 1);
  if (!PORT.test(port) || Number(port) > 65535) return undefined;
  // isIP takes `fe80::1%eth0`; a zone names an interface of the sender, never a viewer.
  if (ip.includes("%") || isIP(ip) === 0) return undefined;
  return canonicalAddress(ip);
}

/** The TCP peer, when the request came over a Node socket (not `app.request` in a test). */
export function socketAddress(c: Context): string | undefined {
  try {
    const address = getConnInfo(c).remote.address;
    return address && isIP(address) ? canonicalAddress(address) : undefined;
  } catch {
    return undefined; // no socket: an in-process request
  }
}

export const isLoopback = (ip: string) => ip === "::1" || /^127\./.test(ip);

/** The configured secret's bytes, made once (the config is read once per process). */
let expected: { secret: string; bytes: Buffer } | undefined;

/**
 * Equal in constant time, lengths included: a guess of another length is compared as the secret
 * against itself (the same work) and refused, so neither a differing byte nor the secret's length
 * shows in the timing. Without hashing both sides, as this did before: a sha256 per request was
 * ~2% of a note read's CPU.
 */
export function secretMatches(sent: string | undefined, secret: string): boolean {
  if (sent === undefined) return false;
  if (expected?.secret !== secret) expected = { secret, bytes: Buffer.from(secret, "utf8") };
  const given = Buffer.from(sent, "utf8");
  const sameLength = given.length === expected.bytes.length;
  const equal = timingSafeEqual(sameLength ? given : expected.bytes, expected.bytes);
  return equal && sameLength;
}

/**
 * The container's own liveness check (`fetch('http://127.0.0.1:3000/api/health')` in the ECS
 * health check and the Dockerfile). Exempt from the secret: the task has one container and
 * awsvpc networking, so a loopback peer is a process inside it; API Gateway's VPC link reaches
 * the task on its VPC address, never on loopback. Only this path, which answers `{status:"ok"}`.
 */
function isOwnLivenessCheck(c: Context, peer: string | undefined): boolean {
  return (
    peer !== undefined &&
    isLoopback(peer) &&
    c.req.path === "/api/health" &&
    (c.req.method === "GET" || c.req.method === "HEAD")
  );
}

/**
 * The client's address, or an AppError: 403 without the origin secret when one is configured,
 * 400 when the secret is right but `CloudFront-Viewer-Address` is missing or malformed (only a
 * misconfigured origin request policy can do that, and reading `unknown` instead would make
 * every client one: the per-address limits would lock out everyone at once).
 */
function resolveClientAddress(c: Context): string {
  const secret = config().originSecret;
  const peer = socketAddress(c);
  if (!secret) return peer ?? "unknown";
  if (isOwnLivenessCheck(c, peer)) return peer ?? "unknown";
  if (!secretMatches(c.req.header(ORIGIN_SECRET_HEADER), secret)) {
    throw new AppError("forbidden", "This API is served through the site only");
  }
  const viewer = c.req.header(VIEWER_ADDRESS_HEADER);
  const address = viewer === undefined ? undefined : parseViewerAddress(viewer);
  if (address === undefined) {
    throw new AppError(
      "bad_request",
      `The ${VIEWER_ADDRESS_HEADER} header is ${viewer === undefined ? "missing" : "malformed"}`,
      { header: VIEWER_ADDRESS_HEADER },
    );
  }
  return address;
}

/**
 * First on every request (the outermost app runs it; a mounted one finds the address set):
 * refuses what did not come through CloudFront and records the client's address.
 */
export const originGuard = createMiddleware(async (c, next) => {
  if (c.get("clientAddress") === undefined) c.set("clientAddress", resolveClientAddress(c));
  await next();
});

/** The client's address: the one `originGuard` recorded, else resolved now. */
export function clientAddress(c: Context): string {
  return c.get("clientAddress") ?? resolveClientAddress(c);
}
