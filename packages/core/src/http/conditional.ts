import { hash } from "node:crypto";
import type { Context, TypedResponse } from "hono";
import type { JSONParsed, JSONValue } from "hono/utils/types";

/**
 * Conditional GETs (RFC 9110 §13): a strong ETag from the bytes of the representation, so any
 * change to what the client would get, however it was made (the owner's edit, an operator's
 * moderation, which does not touch updated_at), makes the old tag stale. The row is still read
 * (the tag must be checked against a note the caller may read: another user's gets a 404 first);
 * a match saves the body on the wire and the client's parse.
 */

/** Responses that are one user's: a browser may keep them but must revalidate; no shared cache may. */
export const PRIVATE_REVALIDATE = "private, no-cache";

/** `"<base64url of SHA-1>"` of `text`: a fingerprint, not a secret (only its reader sees it). */
export function entityTag(text: string): string {
  // One-shot `hash` (Node 20.12+): ~30% less CPU than createHash for a note-sized input.
  return `"${hash("sha1", text, "base64url")}"`;
}

/**
 * Whether `If-None-Match` (a list of tags, or `*`) matches `tag`. The comparison is weak, as the
 * RFC says for If-None-Match: `W/"x"` matches `"x"`.
 */
export function noneMatch(header: string | undefined, tag: string): boolean {
  if (header === undefined) return false;
  const bare = tag.replace(/^W\//, "");
  return header.split(",").some((item) => {
    const candidate = item.trim();
    return candidate === "*" || candidate.replace(/^W\//, "") === bare;
  });
}

/**
 * The route's 200 with `body` as JSON that a client may revalidate: the body is serialised once,
 * for the wire and for its ETag, and a request whose If-None-Match holds that tag gets a bodiless
 * 304 with the same ETag and Cache-Control instead. Typed as the 200 only, so that stays the one
 * response type the RPC client sees: a browser's fetch never gets the 304 (its HTTP cache answers
 * its own revalidation with the stored 200); a caller that sends If-None-Match does.
 */
export function revalidatedJSON<T extends JSONValue | object>(
  c: Context,
  body: T,
): Response & TypedResponse<JSONParsed<T>, 200, "json"> {
  const text = JSON.stringify(body);
  const tag = entityTag(text);
  const kept = { ETag: tag, "Cache-Control": PRIVATE_REVALIDATE };
  const response: Response = noneMatch(c.req.header("if-none-match"), tag)
    ? c.body(null, 304, kept)
    : c.body(text, 200, { ...kept, "Content-Type": "application/json" });
  return response as Response & TypedResponse<JSONParsed<T>, 200, "json">;
}
