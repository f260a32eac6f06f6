import { and, count, desc, eq, lt } from "drizzle-orm";
import * as z from "zod";
import { useUserID } from "../actor";
import { createTransaction, useTransaction } from "../db/transaction";
import { NotFoundError } from "../error";
import { text } from "../http/text";
import { createID, idSchema } from "../id";
import { defineTask, enqueue } from "../task/task";
import { __camel__Table } from "./__kebab__.sql";

const Title = text()
  .trim()
  .min(1, { error: "must not be empty" })
  .max(200, { error: "must be at most 200 characters" });
const __Pascal__ID = idSchema("__camel__");

export const CreateInput = z.strictObject({ title: Title });
export type CreateInput = z.input<typeof CreateInput>;
export const ListInput = z.strictObject({
  cursor: __Pascal__ID.optional(),
  limit: z.coerce.number({ error: "must be a number" }).int().min(1).max(100).default(20),
});
export const IDParam = z.strictObject({ id: z.string() });

export const Info = z.object({ id: z.string(), title: z.string(), createdAt: z.string() });
export type Info = z.infer<typeof Info>;

/** Queued with each new __words__, in its transaction (the outbox); handled in __kebab__.tasks.ts. */
export const createdTask = defineTask("__kebab__.created", z.strictObject({ id: __Pascal__ID }));
/** Counts the __pluralWords__: the task of the example schedule (__kebab__.schedules.ts). */
export const reportTask = defineTask("__kebab__.report", z.strictObject({}));

const toInfo = (row: typeof __camel__Table.$inferSelect): Info => ({
  id: row.id,
  title: row.title,
  createdAt: row.createdAt.toISOString(),
});

/** The signed-in user's __words__, or nothing: another user's does not exist for them (404). */
const mine = (id: string) =>
  and(eq(__camel__Table.id, id), eq(__camel__Table.userId, useUserID()));

/** The signed-in user's __pluralWords__, newest first, keyset-paginated on the time-ordered id. */
export async function list(input: z.input<typeof ListInput> = {}) {
  const { cursor, limit } = ListInput.parse(input);
  const userID = useUserID();
  const rows = await useTransaction((tx) =>
    tx
      .select()
      .from(__camel__Table)
      .where(
        and(
          eq(__camel__Table.userId, userID),
          cursor ? lt(__camel__Table.id, cursor) : undefined,
        ),
      )
      .orderBy(desc(__camel__Table.id))
      .limit(limit + 1),
  );
  const page = rows.slice(0, limit);
  return {
    items: page.map(toInfo),
    nextCursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
  };
}

/** Creates a __words__ and queues its `__kebab__.created` task: both commit, or neither. */
export async function create(input: CreateInput): Promise<Info> {
  const data = CreateInput.parse(input);
  const userID = useUserID();
  const row = await createTransaction(async (tx) => {
    const [inserted] = await tx
      .insert(__camel__Table)
      .values({ id: createID("__camel__"), userId: userID, title: data.title })
      .returning();
    if (inserted) await enqueue(createdTask, { id: inserted.id });
    return inserted;
  });
  if (!row) throw new Error("insert returned nothing");
  return toInfo(row);
}

export async function fromID(id: string): Promise<Info> {
  const [row] = await useTransaction((tx) => tx.select().from(__camel__Table).where(mine(id)));
  if (!row) throw new NotFoundError("__Words__ not found");
  return toInfo(row);
}

export async function remove(id: string): Promise<void> {
  const deleted = await useTransaction((tx) =>
    tx.delete(__camel__Table).where(mine(id)).returning({ id: __camel__Table.id }),
  );
  if (deleted.length === 0) throw new NotFoundError("__Words__ not found");
}

/** Whether the __words__ is still there: the `__kebab__.created` task's check (read-only). */
export async function exists(id: string): Promise<boolean> {
  const rows = await useTransaction((tx) =>
    tx.select({ id: __camel__Table.id }).from(__camel__Table).where(eq(__camel__Table.id, id)),
  );
  return rows.length > 0;
}

/** How many __pluralWords__ there are, all users': what `__kebab__.report` logs (read-only). */
export async function total(): Promise<number> {
  const [row] = await useTransaction((tx) => tx.select({ n: count() }).from(__camel__Table));
  return row?.n ?? 0;
}
