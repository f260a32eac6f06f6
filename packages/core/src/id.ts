import { ulid } from "ulid";

const prefixes = {
  task: "tsk",
  message: "msg",
  user: "usr",
  note: "not",
  attachment: "att",
} as const;

/** Prefixed, time-ordered, unguessable IDs (`tsk_01J…`): readable in logs and support tickets. */
export function createID(kind: keyof typeof prefixes): string {
  return `${prefixes[kind]}_${ulid()}`;
}
