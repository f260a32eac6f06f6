import { config, loadDotEnv } from "@slipway/core/config";
import { onAppDatabase } from "./db/app-database";

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

const { seed, seedRefusal } = await import("@slipway/core/seed/seed");

const refusal = seedRefusal(settings);
if (refusal) {
  process.stderr.write(`${refusal}\n`);
  process.exit(1);
}

// As the dev server does at boot, the seed migrates first: it needs the tables.
await onAppDatabase(settings, "npm run db:seed", async () => {
  const result = await seed();
  const login = `${result.email} / ${result.password}`;
  return result.created
    ? `Seeded the demo account (${result.notes} notes, ${result.attachments} attachment).\n  demo login  ${login}`
    : `The demo account is there already: nothing changed.\n  demo login  ${login}`;
});
