import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { config } from "../config";
import { serveEmbedded } from "./embedded-server";
import { acquireOwnership, readOwner } from "./owner";
import {
  extractTemplate,
  forgetTemplate,
  pgliteTemplate,
  type TemplateSpec,
} from "./pglite-template";

/**
 * The embedded database's single owner (owner.ts) and everyone else. The owner (the dev server)
 * opens PGlite and serves it over the Postgres protocol on loopback; every client, the owner's
 * own API included, connects there with postgres.js, so clients take turns transaction by
 * transaction (embedded-server.ts) and no second process ever opens the files. A process that
 * finds no owner (the tasks CLI with no dev server running) becomes the owner for as long as it runs.
 */

export interface EmbeddedOwner {
  /** postgres:// URL of the served database. */
  url: string;
  /** Whether this owner created the database (the directory was absent or empty). */
  created: boolean;
  /** Says in the owner record that this owner is going, so a successor waits for it. */
  stopping(): void;
  /** Stops serving, closes PGlite and gives up ownership. */
  stop(): Promise<void>;
}

const urlFor = (port: number) => `postgres://postgres@127.0.0.1:${port}/postgres`;

/** The URL of the database a live owner serves, if there is one. */
export function ownerURL(dataDir: string): string | undefined {
  const owner = readOwner(dataDir);
  return owner?.port ? urlFor(owner.port) : undefined;
}

/** Whether `dataDir` holds no database yet: absent, or an empty directory. */
function isFresh(dataDir: string): boolean {
  if (existsSync(path.join(dataDir, "PG_VERSION"))) return false;
  try {
    return readdirSync(dataDir).length === 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return true;
    throw error;
  }
}

/**
 * Takes ownership of `dataDir` (or throws DatabaseOwnedError) and serves it on `port` (0: any).
 * A fresh directory starts as a copy of the cached template (db/pglite-template.ts) instead of
 * running initdb: with the migrations applied when the server migrates at boot (MIGRATE_ON_BOOT),
 * else just initialised. `template` overrides which (tests).
 */
export async function ownEmbedded(
  dataDir: string,
  options: { command: string; port?: number; template?: TemplateSpec },
): Promise<EmbeddedOwner> {
  const ownership = await acquireOwnership(dataDir, { command: options.command });
  try {
    const { PGlite } = await import("@electric-sql/pglite");
    // Only the owner looks at the directory: no one else can be creating it meanwhile.
    const created = isFresh(dataDir);
    const db = created
      ? await createFromTemplate(dataDir, options.template ?? defaultTemplate(), PGlite)
      : await PGlite.create(dataDir);
    const server = await serveEmbedded(db, { port: options.port ?? 0 });
    ownership.update({ port: server.port, state: "serving" });
    return {
      url: urlFor(server.port),
      created,
      stopping() {
        ownership.update({ state: "stopping" });
      },
      async stop() {
        ownership.update({ state: "stopping" });
        await server.stop();
        await db.close();
        ownership.release();
      },
    };
  } catch (error) {
    ownership.release();
    throw error;
  }
}

function defaultTemplate(): TemplateSpec {
  const settings = config();
  return settings.migrateOnBoot ? { migrationsDir: settings.migrationsDir } : {};
}

type PGliteClass = typeof import("@electric-sql/pglite").PGlite;

/**
 * `dataDir` made from the template and opened. A cached template PGlite cannot start from is
 * corrupt in a way its checksum could not tell (written whole, but wrong): the directory made
 * from it is removed (it was ours: fresh a moment ago), the template deleted and built again.
 */
async function createFromTemplate(dataDir: string, spec: TemplateSpec, PGlite: PGliteClass) {
  for (let attempt = 1; ; attempt++) {
    const template = await pgliteTemplate(spec);
    mkdirSync(path.dirname(path.resolve(dataDir)), { recursive: true });
    extractTemplate(template.tar, dataDir);
    try {
      return await PGlite.create(dataDir);
    } catch (error) {
      rmSync(dataDir, { recursive: true, force: true });
      if (template.source === "built" || attempt > 1) throw error;
      process.stderr.write(
        `PGlite could not start from the template ${template.file}; building it again\n`,
      );
      rmSync(template.file, { force: true });
      forgetTemplate(template.file);
    }
  }
}
