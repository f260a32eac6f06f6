import { config, DEFAULT_TIMEOUTS, loadDotEnv } from "@slipway/core/config";

/**
 * `npm run users -- grant-admin <email> | revoke-admin <email>`: the operator console's roles
 * (packages/core/src/admin/users-cli.ts), recorded in the audit log as `cli:<os user>`.
 *
 * Offline: on the embedded database through its owner (a running `npm run dev`), or as its owner
 * while it runs, as `npm run tasks` and `npm run db:seed` do; a fresh database is migrated first,
 * so the first admin can be made before the app ever ran. Against a deployed stage, as `npm run
 * tasks` is (SST's links, the tunnel of the README's "Reaching a deployed database" running; the
 * stage's migrator has run): `npx sst shell --stage <stage> -- npm run users -- grant-admin <email>`.
 */

loadDotEnv();
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const settings = config();

const [{ usersCommand }, client, { migrate }, { ownEmbedded, ownerURL }] = await Promise.all([
  import("@slipway/core/admin/users-cli"),
  import("@slipway/core/db/client"),
  import("@slipway/core/db/migrator"),
  import("@slipway/core/db/embedded"),
]);

let owned: Awaited<ReturnType<typeof ownEmbedded>> | undefined;
try {
  const db = settings.database;
  if (db.kind === "pglite" && !db.dataDir.includes("://")) {
    let url = ownerURL(db.dataDir);
    if (!url) {
      owned = await ownEmbedded(db.dataDir, { command: "npm run users" });
      url = owned.url;
    }
    client.setDatabase(
      client.openDatabase(
        { kind: "postgres", url, poolMax: 1, timeouts: DEFAULT_TIMEOUTS },
        undefined,
        { embedded: true },
      ),
    );
  }
  if (settings.migrateOnBoot) await migrate((await client.database()).db, settings.migrationsDir);
  process.stdout.write(`${await usersCommand(process.argv.slice(2))}\n`);
  await client.closeDatabase();
  await owned?.stop();
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  await owned?.stop().catch(() => {});
  process.exit(1);
}
