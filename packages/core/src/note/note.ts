import { and, count, desc, eq, lt, sql } from "drizzle-orm";
import * as z from "zod";
import { useUserID } from "../actor";
import { removeForNote, removeForUser } from "../attachment/attachment";
import { config } from "../config";
import { createTransaction, prepared, useTransaction } from "../db/transaction";
import { AppError, NotFoundError } from "../error";
import { text } from "../http/text";
import { createID, idSchema } from "../id";
import { Limit } from "../limit";
import { atSite } from "../read-sites";
import { noteTable } from "./note.sql";

const Title = text()
  .trim()
  .min(1, { error: "must not be empty" })
  .max(200, { error: "must be at most 200 characters" });
const Body = text().max(100_000, { error: "must be at most 100000 characters" });
const NoteID = idSchema("note");

export const CreateInput = z.strictObject({ title: Title, body: Body.default("") });
export type CreateInput = z.input<typeof CreateInput>;
export const UpdateInput = z
  .strictObject({ title: Title.optional(), body: Body.optional() })
  .refine((input) => input.title !== undefined || input.body !== undefined, {
    error: "give title or body",
  });
export type UpdateInput = z.input<typeof UpdateInput>;
export const ListInput = z.strictObject({
  cursor: NoteID.optional(),
  limit: z.coerce.number({ error: "must be a number" }).int().min(1).max(100).default(20),
});
export const IDParam = z.strictObject({ id: z.string() });

export const Info = z.object({
  id: z.string(),
  title: z.string(),
  body: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Info = z.infer<typeof Info>;

const toInfo = (row: typeof noteTable.$inferSelect): Info => ({
  id: row.id,
  title: row.title,
  body: row.body,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

/** The signed-in user's note, or 404: another user's note does not exist for them. */
const mine = (id: string) => and(eq(noteTable.id, id), eq(noteTable.userId, useUserID()));

// The queries of every read, list and create, built once (db/transaction.ts `prepared`).
const owner = sql.placeholder("userID");
const byID = prepared((db) =>
  db
    .select()
    .from(noteTable)
    .where(and(eq(noteTable.id, sql.placeholder("id")), eq(noteTable.userId, owner)))
    .prepare("note_by_id"),
);
const pageQuery = (after: boolean, name: string) =>
  prepared((db) =>
    db
      .select()
      .from(noteTable)
      .where(
        and(
          eq(noteTable.userId, owner),
          after ? lt(noteTable.id, sql.placeholder("cursor")) : undefined,
        ),
      )
      .orderBy(desc(noteTable.id))
      .limit(sql.placeholder("limit"))
      .prepare(name),
  );
const firstPage = pageQuery(false, "note_first_page");
const nextPage = pageQuery(true, "note_next_page");
const countOf = prepared((db) =>
  db
    .select({ n: count() })
    .from(noteTable)
    .where(eq(noteTable.userId, owner))
    .prepare("note_count"),
);
const insert = prepared((db) =>
  db
    .insert(noteTable)
    .values({
      id: sql.placeholder("id"),
      userId: owner,
      title: sql.placeholder("title"),
      body: sql.placeholder("body"),
    })
    .returning()
    .prepare("note_insert"),
);

/** Newest first, keyset-paginated on the time-ordered id: stable while notes are added. */
export async function list(input: z.input<typeof ListInput> = {}) {
  const { cursor, limit } = ListInput.parse(input);
  const values = { userID: useUserID(), cursor, limit: limit + 1 };
  const rows = await atSite("note.list", () => (cursor ? nextPage(values) : firstPage(values)));
  const page = rows.slice(0, limit);
  return {
    notes: page.map(toInfo),
    nextCursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
  };
}

/**
 * Creates a note, within the user's quota (QUOTA_NOTES_PER_USER): the next one past it is a 409
 * quota_exceeded. The count and the insert run under the user's quota lock, so two creates at
 * limit - 1 cannot both see room (checked with parallel requests on Postgres).
 */
export async function create(input: CreateInput): Promise<Info> {
  const data = CreateInput.parse(input);
  const userID = useUserID();
  const limit = config().quotas.notesPerUser;
  const row = await createTransaction(async () => {
    await Limit.lock(Limit.quotaLock(userID));
    const [held] = await countOf({ userID });
    const used = held?.n ?? 0;
    if (used >= limit) {
      throw new AppError(
        "quota_exceeded",
        `You have ${used} notes, the most an account may hold (${limit}); delete some to add more`,
        { limit, used },
      );
    }
    const [inserted] = await insert({ id: createID("note"), userID, ...data });
    return inserted;
  });
  if (!row) throw new Error("insert returned nothing");
  return toInfo(row);
}

export async function fromID(id: string): Promise<Info> {
  const [row] = await atSite("note.byID", () => byID({ id, userID: useUserID() }));
  if (!row) throw new NotFoundError("Note not found");
  return toInfo(row);
}

export async function update(id: string, input: UpdateInput): Promise<Info> {
  const data = UpdateInput.parse(input);
  const [row] = await useTransaction((tx) =>
    tx
      .update(noteTable)
      .set({ ...data, updatedAt: new Date() })
      .where(mine(id))
      .returning(),
  );
  if (!row) throw new NotFoundError("Note not found");
  return toInfo(row);
}

/** Deletes the note and its attachments; their files are deleted by tasks queued in the same transaction. */
export async function remove(id: string): Promise<void> {
  const owned = mine(id);
  await createTransaction(async (tx) => {
    const [note] = await tx.select({ id: noteTable.id }).from(noteTable).where(owned).for("update");
    if (!note) throw new NotFoundError("Note not found");
    await removeForNote(id);
    await tx.delete(noteTable).where(eq(noteTable.id, id));
  });
}

/**
 * Every note of a deleted account and their attachments, in the caller's transaction (account
 * deletion): the attachments' objects are deleted by tasks queued with the rows.
 */
export async function removeAllOf(userID: string): Promise<number> {
  return createTransaction(async (tx) => {
    await removeForUser(userID);
    const deleted = await tx
      .delete(noteTable)
      .where(eq(noteTable.userId, userID))
      .returning({ id: noteTable.id });
    return deleted.length;
  });
}
