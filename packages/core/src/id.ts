import { randomFillSync } from "node:crypto";
import { monotonicFactory } from "ulid";
import * as z from "zod";

const prefixes = {
  task: "tsk",
  message: "msg",
  user: "usr",
  note: "not",
  attachment: "att",
  session: "ses",
  audit: "aud",
} as const;

type Kind = keyof typeof prefixes;

// Monotonic: two IDs made in the same millisecond still sort in the order they were made, so
// lists ordered by ID (notes newest first, attachments) keep creation order. The price is that
// an ID made in the same millisecond as one you know is that one plus 1; IDs are not secrets
// (every route checks ownership, sessions and links have their own random tokens).
const ulid = monotonicFactory(pooledRandom());

/**
 * ulid's default randomness calls crypto.getRandomValues once per character, 16 times an ID
 * (~4% of a note creation's CPU, profiled). The same bytes, from the same CSPRNG, drawn from a
 * pool filled 4 KB at a time. A byte / 256 is below 1 and `floor(x * 32)` is its top five bits,
 * so each of the 32 characters is equally likely.
 */
export function pooledRandom(): () => number {
  const pool = new Uint8Array(4096);
  let next = pool.length;
  return () => {
    if (next === pool.length) {
      randomFillSync(pool);
      next = 0;
    }
    return (pool[next++] as number) / 256;
  };
}

/** Prefixed, time-ordered IDs (`tsk_01J…`): readable in logs and support tickets. */
export function createID(kind: Kind): string {
  return `${prefixes[kind]}_${ulid()}`;
}

// Crockford base32, as ulid writes it: no I, L, O or U.
const ULID = "[0-9A-HJKMNP-TV-Z]{26}";

/** Whether `value` has the shape of an ID of this kind (it says nothing of whether one exists). */
export function idPattern(kind: Kind): RegExp {
  return new RegExp(`^${prefixes[kind]}_${ULID}$`);
}

/** A zod schema for an ID of this kind; its message names the kind ("is not an attachment id"). */
export function idSchema(kind: Kind) {
  const article = /^[aeiou]/.test(kind) ? "an" : "a";
  return z.string().regex(idPattern(kind), { error: `is not ${article} ${kind} id` });
}
