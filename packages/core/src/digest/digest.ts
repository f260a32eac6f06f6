import { and, asc, eq, gt, lte } from "drizzle-orm";
import { z } from "zod";
import { userTable } from "../account/account.sql";
import { createTransaction, useTransaction } from "../db/transaction";
import { Mail } from "../mail";
import { noteTable } from "../note/note.sql";
import { defineTask } from "../task/task";
import { digestSentTable } from "./digest.sql";

/** Sends the daily digest; fired by the digest-daily schedule, handled in digest.tasks.ts. */
export const dailyTask = defineTask("digest.daily", z.strictObject({}));

/**
 * The daily digest: every user whose notes changed in the 24 hours before `now` gets one email
 * listing them. Runs at 08:00 UTC for everyone (a per-user time zone is a later refinement).
 * At most one per user per UTC day, even when the task runs twice: the digest_sent row and the
 * queued email commit together, and the email's dedup key repeats the guard.
 */
export async function sendDaily(now = new Date()): Promise<{ users: number; sent: number }> {
  const since = new Date(now.getTime() - 86_400_000);
  const day = now.toISOString().slice(0, 10);
  // Reads the account and note modules' tables (read-join); writes only its own.
  const changed = await useTransaction((tx) =>
    tx
      .select({
        userID: userTable.id,
        email: userTable.email,
        name: userTable.name,
        title: noteTable.title,
      })
      .from(noteTable)
      .innerJoin(userTable, eq(userTable.id, noteTable.userId))
      .where(and(gt(noteTable.updatedAt, since), lte(noteTable.updatedAt, now)))
      // Notes changed in one transaction share updated_at (now() is the transaction's start):
      // the ID breaks the tie so the email reads the same every time it is built.
      .orderBy(asc(userTable.id), asc(noteTable.updatedAt), asc(noteTable.id)),
  );
  const byUser = new Map<string, { email: string; name: string; titles: string[] }>();
  for (const row of changed) {
    const entry = byUser.get(row.userID) ?? { email: row.email, name: row.name, titles: [] };
    entry.titles.push(row.title);
    byUser.set(row.userID, entry);
  }

  let sent = 0;
  for (const [userID, user] of byUser) {
    const queued = await createTransaction(async (tx) => {
      const first = await tx
        .insert(digestSentTable)
        .values({ userId: userID, day })
        .onConflictDoNothing()
        .returning({ userId: digestSentTable.userId });
      if (first.length === 0) return false;
      await Mail.send(
        {
          to: user.email,
          subject: `Your notes: ${user.titles.length} changed in the last day`,
          text: [
            `Hello ${user.name},`,
            "",
            "These notes changed in the last 24 hours:",
            ...user.titles.map((t) => `- ${t}`),
          ].join("\n"),
        },
        { dedupKey: `digest:${userID}:${day}` },
      );
      return true;
    });
    if (queued) sent++;
  }
  return { users: byUser.size, sent };
}
