import { config, DEFAULT_TIMEOUTS, loadDotEnv } from "@slipway/core/config";

/**
 * `tsx packages/web/e2e/make-account.ts <email> <password> <name>`: an account made through the
 * account module (its verification mail queued like any sign-up's) on a running app's embedded
 * database, through its owner, as `npm run users` reaches it. The e2e makes its extra accounts
 * this way: the sign-up route allows 10 accounts an hour from one address, and every e2e file
 * signs up from 127.0.0.1 on the same two apps (app.e2e.ts alone uses the 10 on `npm run dev`).
 */

loadDotEnv();
const settings = config();
const [email = "", password = "", name = ""] = process.argv.slice(2);
const [client, { ownerURL }, Account, { relay }] = await Promise.all([
  import("@slipway/core/db/client"),
  import("@slipway/core/db/embedded"),
  import("@slipway/core/account/account"),
  import("@slipway/core/task/task"),
]);
const db = settings.database;
const url = db.kind === "pglite" ? ownerURL(db.dataDir) : undefined;
if (!url) throw new Error("no running app owns PGLITE_DIR: start it first (e2e/setup.ts does)");
client.setDatabase(
  client.openDatabase(
    { kind: "postgres", url, poolMax: 1, timeouts: DEFAULT_TIMEOUTS },
    undefined,
    { embedded: true },
  ),
);
const { user } = await Account.signup({ email, password, name });
// Signed in nowhere until the browser logs in (the console counts its sessions), and its
// verification mail on the queue now, not at the API's next outbox sweep.
await Account.revokeAllSessions(user.id);
await relay();
process.stdout.write(`${user.id}\n`);
await client.closeDatabase();
