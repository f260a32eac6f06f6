import { config, loadDotEnv } from "@slipway/core/config";
import { onAppDatabase } from "./db/app-database";

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

const { usersCommand } = await import("@slipway/core/admin/users-cli");
await onAppDatabase(settings, "npm run users", () => usersCommand(process.argv.slice(2)));
