import { and, asc, count, eq, exists, gt, isNotNull, lte, sql } from "drizzle-orm";
import * as z from "zod";
import { userTable } from "../account/account.sql";
import { createTransaction } from "../db/transaction";
import { idSchema } from "../id";
import { log } from "../log";
import { Mail } from "../mail";
import { noteTable } from "../note/note.sql";
import { defineTask, enqueue } from "../task/task";
import { digestSentTable } from "./digest.sql";

/**
 * The daily digest, fanned out so that no user can stop it for the others:
 *
 * - `digest.daily` (the digest-daily schedule) fixes the window, the 24 hours before it runs, and
 *   finds the users with a note changed in it, a page of them at a time by user ID;
 * - each page enqueues one `digest.sendOne` per user (dedup key per user and day) and, when the
 *   page was full, a `digest.dailyPage` for the users after it, so no transaction grows with the
 *   number of users;
 * - `digest.sendOne` builds and queues one user's email, in its own task: its failure (a mail the
 *   provider or the mail schema rejects) is retried and dead-lettered alone.
 *
 * Runs at 08:00 UTC for everyone (a per-user time zone is a later refinement).
 */

/** Users looked at per page (per transaction) of the fan-out. */
export const DAILY_PAGE_SIZE = 500;
/** Titles listed in one email at most; the rest are counted in an "and N more" line. */
export const MAX_LISTED_TITLES = 100;
/**
 * An email's text at most, in UTF-16 code units (what zod's `max` counts): a tenth of
 * `Mail.Message`'s 100 000, so at most ~30 KB of UTF-8.
 */
export const MAX_TEXT_LENGTH = 10_000;
/** A title longer than this (the note module's own limit) is cut with "…". */
export const MAX_TITLE_LENGTH = 200;
const MAX_NAME_LENGTH = 100;

const Instant = z.iso.datetime();
const PageSize = z.int().min(1).max(DAILY_PAGE_SIZE);

/** Starts the daily digest; fired by the digest-daily schedule, handled in digest.tasks.ts. */
export const dailyTask = defineTask("digest.daily", z.strictObject({}));

/** The next page of the fan-out: the users after `after`, for the window that ends at `until`. */
export const dailyPageTask = defineTask(
  "digest.dailyPage",
  z.strictObject({ until: Instant, after: idSchema("user"), pageSize: PageSize }),
);

/** One user's digest for the window that ends at `until` (the day is `until`'s UTC date). */
export const sendOneTask = defineTask(
  "digest.sendOne",
  z.strictObject({ userId: idSchema("user"), until: Instant }),
);
export type SendOne = z.infer<typeof sendOneTask.payload>;

const DAY_MS = 86_400_000;
const dayOf = (until: Date) => until.toISOString().slice(0, 10);

/**
 * One page of the fan-out: the users (after `after`, by ID) with a note changed in the 24 hours
 * before `now` get a `digest.sendOne` each, at most once per user per UTC day (its dedup key), so
 * the task running twice queues nothing twice. A full page also queues the next one, in the same
 * transaction. `sent` counts the users queued by this call; `users` those it found.
 */
export async function sendDaily(
  now = new Date(),
  { after, pageSize = DAILY_PAGE_SIZE }: { after?: string; pageSize?: number } = {},
): Promise<{ users: number; sent: number }> {
  const until = now.toISOString();
  const since = new Date(now.getTime() - DAY_MS);
  const day = dayOf(now);
  return createTransaction(async (tx) => {
    // Reads the account and note modules' tables (read-join); writes only its own (the outbox
    // through Task.enqueue). Walks users by primary key and stops after a page of matches.
    const users = await tx
      .select({ id: userTable.id })
      .from(userTable)
      .where(
        and(
          after === undefined ? undefined : gt(userTable.id, after),
          // Only verification and password-reset mail goes to an unverified address (ADR 025).
          isNotNull(userTable.emailVerifiedAt),
          exists(
            tx
              .select({ one: sql`1` })
              .from(noteTable)
              .where(
                and(
                  eq(noteTable.userId, userTable.id),
                  gt(noteTable.updatedAt, since),
                  lte(noteTable.updatedAt, now),
                ),
              ),
          ),
        ),
      )
      .orderBy(asc(userTable.id))
      .limit(pageSize);

    let sent = 0;
    for (const { id } of users) {
      const { enqueued } = await enqueue(
        sendOneTask,
        { userId: id, until },
        { dedupKey: `digest.sendOne:${id}:${day}` },
      );
      if (enqueued) sent++;
    }
    const last = users.at(-1)?.id;
    if (users.length === pageSize && last !== undefined) {
      await enqueue(
        dailyPageTask,
        { until, after: last, pageSize },
        { dedupKey: `digest.dailyPage:${until}:${last}` },
      );
      log.info("daily digest continues on the next page", { after: last });
    }
    return { users: users.length, sent };
  });
}

/**
 * One user's digest: the notes changed in the 24 hours before `until`, oldest change first, in
 * one email. At most one per user per UTC day, even when the task runs twice: the digest_sent
 * row and the queued email commit together, and the email's dedup key repeats the guard. Nothing
 * is sent when nothing changed (the notes were deleted since), the user is gone, or their address
 * is not verified.
 */
export async function sendOne({ userId, until }: SendOne): Promise<"sent" | "skipped"> {
  const end = new Date(until);
  const since = new Date(end.getTime() - DAY_MS);
  const day = dayOf(end);
  return createTransaction(async (tx) => {
    const [user] = await tx
      .select({ email: userTable.email, name: userTable.name })
      .from(userTable)
      .where(and(eq(userTable.id, userId), isNotNull(userTable.emailVerifiedAt)));
    // Gone, or unverified (an address changed since the page was read): nothing is sent.
    if (!user) return "skipped";
    const changedInWindow = and(
      eq(noteTable.userId, userId),
      gt(noteTable.updatedAt, since),
      lte(noteTable.updatedAt, end),
    );
    const [counted] = await tx.select({ total: count() }).from(noteTable).where(changedInWindow);
    const total = counted?.total ?? 0;
    if (total === 0) return "skipped";
    const titles = await tx
      .select({ title: noteTable.title })
      .from(noteTable)
      .where(changedInWindow)
      // Notes changed in one transaction share updated_at (now() is the transaction's start):
      // the ID breaks the tie so the email reads the same every time it is built.
      .orderBy(asc(noteTable.updatedAt), asc(noteTable.id))
      .limit(MAX_LISTED_TITLES);

    const first = await tx
      .insert(digestSentTable)
      .values({ userId, day })
      .onConflictDoNothing()
      .returning({ userId: digestSentTable.userId });
    if (first.length === 0) return "skipped";
    await Mail.send(
      {
        to: user.email,
        subject: `Your notes: ${total} changed in the last day`,
        text: digestText(
          user.name,
          titles.map((row) => row.title),
          total,
        ),
      },
      { dedupKey: `digest:${userId}:${day}` },
    );
    return "sent";
  });
}

/**
 * The email's text: a greeting and one line per title, as many as fit in MAX_LISTED_TITLES and
 * MAX_TEXT_LENGTH, then "and N more" for the `total - listed` left out. Titles are put on one
 * line and cut to MAX_TITLE_LENGTH, so no title can crowd out the rest or forge a line.
 */
export function digestText(name: string, titles: readonly string[], total: number): string {
  const lines = [
    `Hello ${clip(name, MAX_NAME_LENGTH)},`,
    "",
    "These notes changed in the last 24 hours:",
  ];
  let length = lines.join("\n").length;
  // Room for the longest "and N more" this email could need.
  const reserve = `\nand ${total} more`.length;
  let listed = 0;
  for (const title of titles.slice(0, MAX_LISTED_TITLES)) {
    const line = `- ${clip(title, MAX_TITLE_LENGTH)}`;
    if (length + 1 + line.length + reserve > MAX_TEXT_LENGTH) break;
    lines.push(line);
    length += 1 + line.length;
    listed++;
  }
  if (total > listed) lines.push(`and ${total - listed} more`);
  return lines.join("\n");
}

/** One line of at most `max` code units, cut with "…" and never inside a surrogate pair. */
function clip(text: string, max: number): string {
  const line = text.replace(/\s+/g, " ").trim();
  if (line.length <= max) return line;
  const cut = line.slice(0, max - 1).replace(/[\uD800-\uDBFF]$/, "");
  return `${cut}…`;
}
