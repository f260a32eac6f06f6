import * as account from "./account/account.sql";
import * as admin from "./admin/admin.sql";
import * as attachment from "./attachment/attachment.sql";
import * as cache from "./cache/cache.sql";
import { collectTables } from "./db/table-access";
import * as digest from "./digest/digest.sql";
import * as limit from "./limit/limit.sql";
import * as mail from "./mail/mail.sql";
import * as note from "./note/note.sql";
import * as task from "./task/task.sql";

/**
 * Every table of the app, one line per module's `*.sql.ts` (all its tables, whatever they are
 * named): what the operator console browses (admin/tables.ts). `npm run new:module` adds the
 * line; src/registries.test.ts fails naming a `*.sql.ts` missing here.
 */
export const tables = collectTables({
  account,
  admin,
  attachment,
  cache,
  digest,
  limit,
  mail,
  note,
  task,
});
