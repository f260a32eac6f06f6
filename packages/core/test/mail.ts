import { expect } from "vitest";
import { Mail } from "../src/mail";
import { tasks } from "../src/tasks";
import { drain } from "./tasks";

/** Runs every queued task (the account mails among them), then the dev mailbox's mail to `to`. */
export async function mailTo(to: string) {
  await drain(tasks);
  // Newest first by id (the mail.deliver task's, time-ordered): inside a test's transaction every
  // row shares one sent_at.
  return (await Mail.devMailbox())
    .filter((mail) => mail.to === to)
    .sort((a, b) => (a.id < b.id ? 1 : -1));
}

/** The token of the one link in a mail, checking the link goes to `page` on the site. */
export function tokenIn(mail: { text: string; html: string | null }, page: string): string {
  const match = new RegExp(`(http://localhost:5173${page}\\S*)`).exec(mail.text);
  expect(match, mail.text).not.toBeNull();
  // In the fragment, never the query: a browser sends no fragment to a server (access logs,
  // Referer).
  const link = new URL(match?.[1] ?? "http://invalid");
  expect(link.search).toBe("");
  const token = /^#token=([\w-]+)$/.exec(link.hash)?.[1] ?? "";
  expect(token).toMatch(/^[\w-]{43}$/);
  expect(mail.html).toContain(`${page}#token=${token}`);
  return token;
}

/** The token of the newest mail to `to` whose subject starts with `subject`. */
export async function lastToken(to: string, subject: string, page: string): Promise<string> {
  const mail = (await mailTo(to)).find((m) => m.subject.startsWith(subject));
  expect(mail, `a mail "${subject}" to ${to}`).toBeDefined();
  return tokenIn(mail as { text: string; html: string | null }, page);
}
