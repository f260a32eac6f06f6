import { monotonicFactory } from "ulid";

const prefixes = {
  task: "tsk",
  message: "msg",
  user: "usr",
  note: "not",
  attachment: "att",
} as const;

// Monotonic: two IDs made in the same millisecond still sort in the order they were made, so
// lists ordered by ID (notes newest first, attachments) keep creation order. The price is that
// an ID made in the same millisecond as one you know is that one plus 1; IDs are not secrets
// (every route checks ownership, sessions and links have their own random tokens).
const ulid = monotonicFactory();

/** Prefixed, time-ordered IDs (`tsk_01J…`): readable in logs and support tickets. */
export function createID(kind: keyof typeof prefixes): string {
  return `${prefixes[kind]}_${ulid()}`;
}
