import { and, asc, count, eq, inArray, lt, ne } from "drizzle-orm";
import { z } from "zod";
import { useUserID } from "../actor";
import { config } from "../config";
import { createTransaction, useTransaction } from "../db/transaction";
import { ConflictError, NotFoundError, ValidationError } from "../error";
import { createID } from "../id";
import { log } from "../log";
import { noteTable } from "../note/note.sql";
import { storage } from "../storage/storage";
import { enqueue } from "../task/task";
import { attachmentStatuses, attachmentTable } from "./attachment.sql";
import { inspect } from "./inspect";

/** An upload form is good for this long (the issue's 5 minutes). */
export const UPLOAD_EXPIRES_SECONDS = 5 * 60;
/** A download link is good for this long. */
export const DOWNLOAD_EXPIRES_SECONDS = 5 * 60;
/** Pending this long, it was abandoned: its upload form expired long ago. */
export const ABANDONED_AFTER_MINUTES = 60;
/** A note holds at most this many attachments. */
export const MAX_PER_NOTE = 20;

/**
 * Where an attachment's bytes live. Browsers upload to `incoming` (the only key an upload form
 * can write); the check copies the object to `file` and reads that copy, which no form can reach,
 * so a form replayed within its 5 minutes cannot swap the bytes after (or while) they are checked.
 * Downloads are signed for `file` only. Stray `incoming` objects expire by a bucket lifecycle rule.
 */
export const keys = (id: string) => ({
  incoming: `attachments/incoming/${id}`,
  file: `attachments/files/${id}`,
});

/** Types the bytes can show for a declared type (file-type says APNG where browsers say PNG). */
const SAME_TYPE: Record<string, string[]> = { "image/png": ["image/png", "image/apng"] };

/** `Text/Plain; charset=utf-8` → `text/plain`: browsers may add parameters. */
const bareType = (type: string) => (type.split(";")[0] ?? "").trim().toLowerCase();
const AttachmentID = z
  .string()
  .regex(/^att_[0-9A-HJKMNP-TV-Z]{26}$/, { error: "is not an attachment id" });

export const CreateInput = z.strictObject({
  filename: z
    .string()
    .min(1, { error: "must not be empty" })
    .max(1000, { error: "must be at most 1000 characters" }),
  contentType: z
    .string()
    .min(1, { error: "must not be empty" })
    .max(255, { error: "must be at most 255 characters" }),
  size: z
    .number({ error: "must be a number of bytes" })
    .int({ error: "must be a whole number of bytes" })
    .min(1, { error: "must be at least 1 byte" }),
});
export type CreateInput = z.input<typeof CreateInput>;
export const IDParam = z.strictObject({ id: z.string() });

export const Info = z.object({
  id: z.string(),
  noteId: z.string(),
  filename: z.string(),
  contentType: z.string(),
  size: z.number(),
  status: z.enum(attachmentStatuses),
  sha256: z.string().nullable(),
  rejectReason: z.string().nullable(),
  createdAt: z.string(),
  processedAt: z.string().nullable(),
});
export type Info = z.infer<typeof Info>;

export const Upload = z.object({ url: z.string(), fields: z.record(z.string(), z.string()) });
export const Download = z.object({ url: z.string(), expiresAt: z.string() });

type Row = typeof attachmentTable.$inferSelect;

const toInfo = (row: Row): Info => ({
  id: row.id,
  noteId: row.noteId,
  filename: row.filename,
  contentType: row.contentType,
  size: row.size,
  status: row.status,
  sha256: row.sha256,
  rejectReason: row.rejectReason,
  createdAt: row.createdAt.toISOString(),
  processedAt: row.processedAt?.toISOString() ?? null,
});

/**
 * A filename fit to show: the last path segment, without control or bidi-override characters
 * (which can disguise `exe.png` as `png.exe`), whitespace collapsed, at most 255 code points.
 */
export function sanitizeFilename(raw: string): string {
  const base = raw.split(/[/\\]/).pop() ?? "";
  const clean = base
    .normalize("NFC")
    .replace(/\s+/gu, " ")
    // Zero-width (non-)joiners stay: emoji sequences and several scripts need them.
    .replace(/(?![\u200c\u200d])[\p{Cc}\p{Cf}]/gu, "")
    .replace(/ {2,}/g, " ")
    .trim();
  const limited = [...clean].slice(0, 255).join("").trim();
  return limited === "" || limited === "." || limited === ".." ? "file" : limited;
}

const mine = (id: string) =>
  and(eq(attachmentTable.id, id), eq(attachmentTable.userId, useUserID()));

async function ownNote(noteID: string) {
  const [note] = await useTransaction((tx) =>
    tx
      .select({ id: noteTable.id })
      .from(noteTable)
      .where(and(eq(noteTable.id, noteID), eq(noteTable.userId, useUserID()))),
  );
  if (!note) throw new NotFoundError("Note not found");
}

async function ownAttachment(id: string): Promise<Row> {
  if (!AttachmentID.safeParse(id).success) throw new NotFoundError("Attachment not found");
  const [row] = await useTransaction((tx) => tx.select().from(attachmentTable).where(mine(id)));
  if (!row) throw new NotFoundError("Attachment not found");
  return row;
}

/**
 * Records a pending attachment and signs a browser upload for it. The policy pins the key (made
 * from the id alone), the declared type and the exact declared size, for 5 minutes.
 */
export async function create(noteID: string, input: CreateInput) {
  const userID = useUserID();
  const data = CreateInput.parse(input);
  const { maxBytes, allowedTypes } = config().attachments;
  const contentType = bareType(data.contentType);
  const issues = [
    ...(allowedTypes.includes(contentType)
      ? []
      : [{ path: "contentType", message: `must be one of ${allowedTypes.join(", ")}` }]),
    ...(data.size <= maxBytes
      ? []
      : [{ path: "size", message: `must be at most ${maxBytes} bytes` }]),
  ];
  if (issues.length > 0) throw new ValidationError(issues);

  const id = createID("attachment");
  const row = await createTransaction(async (tx) => {
    // Locks the note: concurrent creates on it queue here, so the cap holds, and a note deleted
    // meanwhile is a 404 rather than a foreign-key error.
    const [note] = await tx
      .select({ id: noteTable.id })
      .from(noteTable)
      .where(and(eq(noteTable.id, noteID), eq(noteTable.userId, userID)))
      .for("update");
    if (!note) throw new NotFoundError("Note not found");
    // Rejected files stay listed (with their reason) until removed, but take no place.
    const [existing] = await tx
      .select({ n: count() })
      .from(attachmentTable)
      .where(and(eq(attachmentTable.noteId, noteID), ne(attachmentTable.status, "rejected")));
    if ((existing?.n ?? 0) >= MAX_PER_NOTE) {
      throw new ConflictError(`A note holds at most ${MAX_PER_NOTE} attachments`, {
        limit: MAX_PER_NOTE,
      });
    }
    const [inserted] = await tx
      .insert(attachmentTable)
      .values({
        id,
        noteId: noteID,
        userId: userID,
        filename: sanitizeFilename(data.filename),
        contentType,
        size: data.size,
      })
      .returning();
    return inserted;
  });
  if (!row) throw new Error("insert returned nothing");
  const upload = await (await storage()).presignUpload({
    key: keys(id).incoming,
    contentType,
    size: row.size,
    expiresSeconds: UPLOAD_EXPIRES_SECONDS,
  });
  return { attachment: toInfo(row), upload };
}

/**
 * The browser says its upload finished: check that the object is there, mark the attachment
 * uploaded and queue its check, in one transaction. Calling it again is harmless (the check is
 * idempotent); never calling it leaves the attachment pending until maintenance.cleanup.
 */
export async function complete(id: string): Promise<Info> {
  const row = await ownAttachment(id);
  if (row.status === "ready" || row.status === "rejected") return toInfo(row);
  if (!(await (await storage()).head(keys(id).incoming))) {
    throw new ConflictError("The file has not been uploaded yet", { attachmentId: id });
  }
  const { processTask } = await import("./attachment.tasks");
  return createTransaction(async (tx) => {
    const [updated] = await tx
      .update(attachmentTable)
      .set({ status: "uploaded" })
      .where(and(mine(id), inArray(attachmentTable.status, ["pending", "uploaded"])))
      .returning();
    if (!updated) return toInfo(await ownAttachment(id));
    await enqueue(processTask, { attachmentId: id });
    return toInfo(updated);
  });
}

/** Metadata, and a short-lived download link once the file is ready. */
export async function fromID(id: string, now = new Date()) {
  const row = await ownAttachment(id);
  if (row.status !== "ready") return { attachment: toInfo(row), download: null };
  const url = await (await storage()).presignDownload({
    key: keys(row.id).file,
    filename: row.filename,
    contentType: row.contentType,
    expiresSeconds: DOWNLOAD_EXPIRES_SECONDS,
  });
  const expiresAt = new Date(now.getTime() + DOWNLOAD_EXPIRES_SECONDS * 1000).toISOString();
  return { attachment: toInfo(row), download: { url, expiresAt } };
}

/** A note's attachments, oldest first. */
export async function list(noteID: string): Promise<Info[]> {
  await ownNote(noteID);
  const rows = await useTransaction((tx) =>
    tx
      .select()
      .from(attachmentTable)
      .where(and(eq(attachmentTable.noteId, noteID), eq(attachmentTable.userId, useUserID())))
      .orderBy(asc(attachmentTable.id)),
  );
  return rows.map(toInfo);
}

/** Queues the deletion of attachments' objects in the caller's transaction: with the rows, or not at all. */
async function deleteObjects(ids: string[]) {
  const { deleteObjectsTask } = await import("./attachment.tasks");
  for (const attachmentId of ids) await enqueue(deleteObjectsTask, { attachmentId });
}

export async function remove(id: string): Promise<void> {
  if (!AttachmentID.safeParse(id).success) throw new NotFoundError("Attachment not found");
  const owned = mine(id);
  await createTransaction(async (tx) => {
    const deleted = await tx
      .delete(attachmentTable)
      .where(owned)
      .returning({ id: attachmentTable.id });
    if (deleted.length === 0) throw new NotFoundError("Attachment not found");
    await deleteObjects(deleted.map((row) => row.id));
  });
}

/** Note.remove calls this in its transaction: the note's attachments go, their objects follow. */
export async function removeForNote(noteID: string): Promise<number> {
  return createTransaction(async (tx) => {
    const deleted = await tx
      .delete(attachmentTable)
      .where(eq(attachmentTable.noteId, noteID))
      .returning({ id: attachmentTable.id });
    await deleteObjects(deleted.map((row) => row.id));
    return deleted.length;
  });
}

/**
 * The `attachments.process` task. Copies the upload to the attachment's file key (which no upload
 * form can write) and reads that copy once: when its real size and type match the declaration it
 * becomes ready, with its sha256; else rejected, and its objects are deleted. Runs once in
 * effect: only an uploaded attachment changes, in one conditional update, so a second run (or a
 * concurrent one) finds nothing to do.
 */
export async function processUpload(attachmentID: string): Promise<void> {
  const [row] = await useTransaction((tx) =>
    tx.select().from(attachmentTable).where(eq(attachmentTable.id, attachmentID)),
  );
  if (row?.status !== "uploaded") return;
  const store = await storage();
  const { incoming, file } = keys(row.id);
  // A retry after a copy that succeeded keeps that copy: it is what was checked, or will be.
  if (!(await store.head(file)) && (await store.head(incoming))) await store.copy(incoming, file);
  const body = await store.read(file);
  // Unchecked for longer than uploads are kept (14 days, a dead-lettered check never redriven).
  const found = body ? await inspect(body, row.size) : undefined;
  const expected = SAME_TYPE[row.contentType] ?? [row.contentType];
  const reason = !found
    ? "The upload expired before it could be checked"
    : found.size !== row.size
      ? `The file has ${found.size} bytes, not the ${row.size} declared`
      : !found.detectedType || !expected.includes(found.detectedType)
        ? `The file's content is ${found.detectedType ?? "of an unknown type"}, not ${row.contentType}`
        : null;
  const changed = await createTransaction(async (tx) => {
    const updated = await tx
      .update(attachmentTable)
      .set({
        status: reason ? "rejected" : "ready",
        sha256: reason ? null : (found?.sha256 ?? null),
        rejectReason: reason,
        processedAt: new Date(),
      })
      .where(and(eq(attachmentTable.id, row.id), eq(attachmentTable.status, "uploaded")))
      .returning({ id: attachmentTable.id });
    // Rejected: both objects go. Ready: the upload is no longer needed.
    if (reason) await deleteObjects(updated.map((r) => r.id));
    return updated.length > 0;
  });
  if (!changed) return;
  if (!reason) await store.delete(incoming);
  log.info("attachment processed", { attachmentId: row.id, status: reason ? "rejected" : "ready" });
}

/**
 * Attachments whose upload was never completed (pending for an hour: their forms expired long
 * ago) are removed, with any object they left. Completed ones are never removed here, even if
 * their check is failing: those wait in the task queue (and its dead letters) for a retry.
 */
export async function deleteAbandoned(now = new Date()): Promise<number> {
  const before = new Date(now.getTime() - ABANDONED_AFTER_MINUTES * 60_000);
  return createTransaction(async (tx) => {
    const deleted = await tx
      .delete(attachmentTable)
      .where(and(eq(attachmentTable.status, "pending"), lt(attachmentTable.createdAt, before)))
      .returning({ id: attachmentTable.id });
    await deleteObjects(deleted.map((row) => row.id));
    return deleted.length;
  });
}

/** The `attachments.deleteObjects` task: deleting a missing object succeeds, so retries are safe. */
export async function deleteObjectsOf(attachmentID: string): Promise<void> {
  const store = await storage();
  const { incoming, file } = keys(attachmentID);
  await store.delete(incoming);
  await store.delete(file);
}
