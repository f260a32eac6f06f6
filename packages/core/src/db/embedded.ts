import { mkdirSync } from "node:fs";
import { serveEmbedded } from "./embedded-server";
import { acquireOwnership, readOwner } from "./owner";

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

/** Takes ownership of `dataDir` (or throws DatabaseOwnedError) and serves it on `port` (0: any). */
export async function ownEmbedded(
  dataDir: string,
  options: { command: string; port?: number },
): Promise<EmbeddedOwner> {
  const ownership = await acquireOwnership(dataDir, { command: options.command });
  try {
    mkdirSync(dataDir, { recursive: true });
    const { PGlite } = await import("@electric-sql/pglite");
    const db = await PGlite.create(dataDir);
    const server = await serveEmbedded(db, { port: options.port ?? 0 });
    ownership.update({ port: server.port, state: "serving" });
    return {
      url: urlFor(server.port),
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
