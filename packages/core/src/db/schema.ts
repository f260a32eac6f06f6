// Every module's tables, for the typed client and drizzle-kit. One line per module's `*.sql.ts`.

export * from "../account/account.sql";
export * from "../attachment/attachment.sql";
export * from "../digest/digest.sql";
export * from "../mail/mail.sql";
export * from "../note/note.sql";
export * from "../task/task.sql";
