import { createHash } from "node:crypto";

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
  return `"${createHash("sha1").update(text).digest("base64url")}"`;
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
