import { timingSafeEqual } from "node:crypto";

/**
 * Signatures compared in constant time, for the offline store's checks (post-policy.ts,
 * signed-link.ts): an early-exit compare would tell a forger how much of a guess was right.
 */
export function sameSignature(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
