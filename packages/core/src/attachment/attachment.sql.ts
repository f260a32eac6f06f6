import { sql } from "drizzle-orm";
import { bigint, check, index, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { userTable } from "../account/account.sql";
import { noteTable } from "../note/note.sql";

/**
 * pending: upload form handed out · uploaded: `complete` called, the check is queued ·
 * ready / rejected: checked.
 */
export const attachmentStatuses = ["pending", "uploaded", "ready", "rejected"] as const;

/**
 * A file attached to a note. Its bytes live in object storage under keys made from the id alone
 * (never from the filename; see `keys` in attachment.ts); this row is what the API knows of them.
 */
export const attachmentTable = pgTable(
  "attachment",
  {
    /** `att_<ulid>` */
    id: text().primaryKey(),
    // Note.remove deletes attachments (and queues their objects' deletion) before the note; the
    // cascade is the backstop for deletes that bypass it.
    noteId: text()
      .notNull()
      .references(() => noteTable.id, { onDelete: "cascade" }),
    userId: text()
      .notNull()
      .references(() => userTable.id, { onDelete: "cascade" }),
    /** Sanitized for display; never used in a key or a path. */
    filename: text().notNull(),
    /** Declared by the client, pinned by the upload policy, checked against the bytes. */
    contentType: text().notNull(),
    size: bigint({ mode: "number" }).notNull(),
    status: text({ enum: attachmentStatuses }).notNull().default("pending"),
    sha256: text(),
    rejectReason: text(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    processedAt: timestamp({ withTimezone: true }),
  },
  (table) => [
    index("attachment_note").on(table.noteId, table.id),
    // maintenance.cleanup finds abandoned uploads by status and age.
    index("attachment_status_created").on(table.status, table.createdAt),
    // The operator console pages every attachment, newest first.
    index("attachment_created").on(table.createdAt, table.id),
    check(
      "attachment_status_known",
      sql`${table.status} in ('pending', 'uploaded', 'ready', 'rejected')`,
    ),
  ],
);
