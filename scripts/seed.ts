import { config, DEFAULT_TIMEOUTS, loadDotEnv } from "@slipway/core/config";

/**
 * `npm run db:seed`: the demo account, a dozen notes and an attachment in the development
 * database (packages/core/src/seed/seed.ts), once: run again, it changes nothing. Offline the
 * embedded database is reached through its owner (a running `npm run dev`), or this process
 * owns it while it runs, as `npm run tasks` does. Refused on anything but this machine's own
 * database (seedRefusal), before connecting. SEED=false does not stop this command: it only
 * turns off the seeding of a fresh `npm run dev`.
 */

loadDotEnv();
// Node 20 here by design (packages/core/test/setup.ts): the SDK's notice would end every run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const settings = config();

const [{ seed, seedRefusal }, client, { migrate }, { ownEmbedded, ownerURL }] = await Promise.all([
  import("@slipway/core/seed/seed"),
  import("@slipway/core/db/client"),
  import("@slipway/core/db/migrator"),
  import("@slipway/core/db/embedded"),
]);

const refusal = seedRefusal(settings);
if (refusal) {
  process.stderr.write(`${refusal}\n`);
  process.exit(1);
}

let owned: Awaited<ReturnType<typeof ownEmbedded>> | undefined;
try {
  const db = settings.database;
  if (db.kind === "pglite" && !db.dataDir.includes("://")) {
    let url = ownerURL(db.dataDir);
    if (!url) {
      owned = await ownEmbedded(db.dataDir, { command: "npm run db:seed" });
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
  // As the dev server does at boot: the seed needs the tables.
  if (settings.migrateOnBoot) await migrate((await client.database()).db, settings.migrationsDir);
  const result = await seed();
  const login = `${result.email} / ${result.password}`;
  process.stdout.write(
    result.created
      ? `Seeded the demo account (${result.notes} notes, ${result.attachments} attachment).\n  demo login  ${login}\n`
      : `The demo account is there already: nothing changed.\n  demo login  ${login}\n`,
  );
  await client.closeDatabase();
  await owned?.stop();
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  await owned?.stop().catch(() => {});
  process.exit(1);
}
