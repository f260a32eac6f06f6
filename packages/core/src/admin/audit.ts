import { AsyncLocalStorage } from "node:async_hooks";
import { and, desc, lt } from "drizzle-orm";
import * as z from "zod";
import { useActor } from "../actor";
import { useTransaction } from "../db/transaction";
import { createID, idSchema } from "../id";
import { logContext } from "../log";
import { adminAuditTable } from "./admin.sql";

/**
 * The audit log of operator actions (ADR 028). `record` is the only writer of admin_audit; it
 * writes in the caller's transaction, so an action that rolls back leaves no record and a record
 * cannot be lost for an action that committed. Who acted comes from the context: `requireAdmin`
 * (admin.ts) runs each admin request as its admin, a CLI runs its work `as` its label.
 */

export interface AuditActor {
  /** The admin's user id; null for a CLI. */
  userID: string | null;
  /** For people: the admin's email, or `cli:<os user>`. */
  label: string;
}

const storage = new AsyncLocalStorage<AuditActor>();

/** Runs `fn` with `actor` as the author of every record written inside it. */
export function as<T>(actor: AuditActor, fn: () => T): T {
  return storage.run(actor, fn);
}

/** The actor in force: the one `as` set, else the signed-in user (labelled by id), else none. */
export function currentActor(): AuditActor | undefined {
  const set = storage.getStore();
  if (set) return set;
  const actor = useActor();
  return actor.type === "user" ? { userID: actor.userID, label: actor.userID } : undefined;
}

export interface Entry {
  /** `<thing>.<verb>`, e.g. `user.disable`, `task.redrive`. */
  action: string;
  /** What it was done to (a user id, `note:not_…`); omit when there is no one target. */
  target?: string;
  /** JSON-safe facts about the action: never a secret (a token, a password, a hash). */
  details?: Record<string, unknown>;
}

/**
 * Records an operator action in the current transaction (or on its own outside one): actor and
 * request id from the context. No actor in force is a bug, not an anonymous record: it throws.
 */
export async function record(entry: Entry, now = new Date()): Promise<void> {
  const actor = currentActor();
  if (!actor) throw new Error(`audit: no actor for "${entry.action}" (run it under Audit.as)`);
  const requestId = logContext().requestId;
  await useTransaction((tx) =>
    tx.insert(adminAuditTable).values({
      id: createID("audit"),
      at: now,
      actorUserId: actor.userID,
      actor: actor.label,
      action: entry.action,
      target: entry.target ?? null,
      requestId: typeof requestId === "string" ? requestId : null,
      details: entry.details ?? {},
    }),
  );
}

export const Info = z.object({
  id: z.string(),
  at: z.string(),
  actorUserId: z.string().nullable(),
  actor: z.string(),
  action: z.string(),
  target: z.string().nullable(),
  requestId: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});
export type Info = z.infer<typeof Info>;

export const ListInput = z.strictObject({
  /** The last id of the previous page. */
  cursor: idSchema("audit").optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});
export type ListInput = z.input<typeof ListInput>;

/** Entries newest first (keyset on the time-ordered id). */
export async function list(
  input: ListInput,
): Promise<{ entries: Info[]; nextCursor: string | null }> {
  const { cursor, limit } = ListInput.parse(input);
  const rows = await useTransaction((tx) =>
    tx
      .select()
      .from(adminAuditTable)
      .where(and(cursor ? lt(adminAuditTable.id, cursor) : undefined))
      .orderBy(desc(adminAuditTable.id))
      .limit(limit + 1),
  );
  const entries = rows.slice(0, limit).map((row) => ({
    ...row,
    at: row.at.toISOString(),
    details: (row.details ?? {}) as Record<string, unknown>,
  }));
  return { entries, nextCursor: rows.length > limit ? (entries.at(-1)?.id ?? null) : null };
}
