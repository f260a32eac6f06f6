import { config, loadDotEnv } from "@slipway/core/config";
import { DatabaseOwnedError } from "@slipway/core/db/owner";

/**
 * `sst dev`'s database (the EmbeddedDatabase dev command, infra/database.ts): the embedded PGlite
 * database under PGLITE_DIR (.data/pglite, the one `npm run dev` uses), owned by this process
 * (ADR 015) and served over the Postgres protocol on loopback at PGLITE_PORT, which `sst dev`
 * sets from SLIPWAY_DEV_DATABASE_PORT (55432 unless set: not 5432, where a Postgres of the
 * developer's may listen). The API `sst dev` runs locally connects there and migrates at boot.
 * Nothing to install: no Docker, no Postgres. Ctrl-C (or `sst dev` stopping) closes its files.
 */

loadDotEnv();
const settings = config();
const dataDir = settings.database.kind === "pglite" ? settings.database.dataDir : undefined;
if (!dataDir || !settings.embeddedPort) {
  process.stderr.write(
    "scripts/dev-database.ts serves the embedded database: it needs PGLITE_PORT and no DATABASE_URL\n",
  );
  process.exit(1);
}

const { ownEmbedded } = await import("@slipway/core/db/embedded");
let owner: Awaited<ReturnType<typeof ownEmbedded>>;
try {
  owner = await ownEmbedded(dataDir, {
    command: "sst dev (EmbeddedDatabase)",
    port: settings.embeddedPort,
  });
} catch (error) {
  if (error instanceof DatabaseOwnedError) {
    process.stderr.write(
      `${error.message}\nStop it (npm run dev serves the same data) and restart this pane.\n`,
    );
  } else if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") {
    process.stderr.write(
      `Port ${settings.embeddedPort} is taken: set SLIPWAY_DEV_DATABASE_PORT to a free one and restart sst dev.\n`,
    );
  } else {
    throw error;
  }
  process.exit(1);
}

process.stdout.write(`Embedded database ${dataDir}\nListening on ${owner.url}\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await owner.stop();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
