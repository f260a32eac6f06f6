import type { Config } from "@slipway/core/config";
import { DEFAULT_TIMEOUTS } from "@slipway/core/config";

/**
 * Runs `work` on the app's database, for the one-shot commands (`npm run db:seed`, `npm run
 * users`), then exits 1 with the error's message if anything failed. Offline the embedded
 * database is reached through its owner (a running `npm run dev`), or this process owns it while
 * it runs; migrated first when the config migrates at boot, as the dev server does. Deployed (a
 * DATABASE_URL) the config's database is used as is. `work` returns what to print.
 */
export async function onAppDatabase(
  settings: Config,
  command: string,
  work: () => Promise<string>,
): Promise<void> {
  const [client, { migrate }, { ownEmbedded, ownerURL }] = await Promise.all([
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
        owned = await ownEmbedded(db.dataDir, { command });
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
    process.stdout.write(`${await work()}\n`);
    await client.closeDatabase();
    await owned?.stop();
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    await owned?.stop().catch(() => {});
    process.exit(1);
  }
}
