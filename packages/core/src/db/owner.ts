import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import path from "node:path";

/**
 * One owner per embedded database. PGlite is Postgres in one process: two processes writing one
 * data directory each keep their own view and overwrite the other's files, so acknowledged writes
 * are lost. The owner writes a record beside the directory, created exclusively (O_EXCL), with its
 * pid, the port it serves the database on, and its command; anyone else finds the owner there and
 * connects through it, or is refused. A record whose process is gone is taken over.
 */

export interface OwnerRecord {
  pid: number;
  /** Where the owner serves the database over the Postgres protocol; null while it starts. */
  port: number | null;
  command: string;
  startedAt: string;
  /** "stopping": the owner is closing its files; a successor may wait for it (a dev reload). */
  state: "starting" | "serving" | "stopping";
}

export class DatabaseOwnedError extends Error {
  override name = "DatabaseOwnedError";
  constructor(
    readonly dataDir: string,
    readonly owner: OwnerRecord,
  ) {
    const reach =
      owner.port === null
        ? "it is still starting; try again in a moment"
        : `connect through it: postgres://postgres@127.0.0.1:${owner.port}/postgres`;
    super(
      `The embedded database ${dataDir} is already open in process ${owner.pid} ` +
        `(${owner.command}, since ${owner.startedAt}); ${reach}. ` +
        "Only one process may own it: stop that one, or use a different PGLITE_DIR.",
    );
  }
}

export const ownerFile = (dataDir: string) =>
  path.join(path.dirname(path.resolve(dataDir)), `${path.basename(dataDir)}.owner.json`);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The current owner, if its process is alive. */
export function readOwner(dataDir: string): OwnerRecord | undefined {
  let record: OwnerRecord;
  try {
    record = JSON.parse(readFileSync(ownerFile(dataDir), "utf8")) as OwnerRecord;
  } catch {
    return undefined;
  }
  return alive(record.pid) ? record : undefined;
}

export interface Ownership {
  update(change: Partial<Pick<OwnerRecord, "port" | "state">>): void;
  release(): void;
}

/**
 * Takes ownership of `dataDir` or throws DatabaseOwnedError naming the owner. An owner that is
 * stopping is waited for (up to `waitMs`), so a dev server's reload can follow its predecessor.
 */
export async function acquireOwnership(
  dataDir: string,
  options: { command: string; waitMs?: number },
): Promise<Ownership> {
  const file = ownerFile(dataDir);
  mkdirSync(path.dirname(file), { recursive: true });
  const deadline = Date.now() + (options.waitMs ?? 10_000);
  let record: OwnerRecord = {
    pid: process.pid,
    port: null,
    command: options.command,
    startedAt: new Date().toISOString(),
    state: "starting",
  };
  const write = () => {
    // Written to a temp file and renamed over the record: a reader never sees half of it.
    const temp = `${file}.${process.pid}`;
    const fd = openSync(temp, "w");
    writeSync(fd, JSON.stringify(record));
    closeSync(fd);
    renameSync(temp, file);
  };

  for (;;) {
    try {
      // The exclusive create is the lock: of two processes, one gets it.
      const fd = openSync(file, "wx");
      writeSync(fd, JSON.stringify(record));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    let current: OwnerRecord | undefined;
    try {
      current = JSON.parse(readFileSync(file, "utf8")) as OwnerRecord;
    } catch {
      // Just created by another process and not written yet: look again.
      await new Promise((resolve) => setTimeout(resolve, 20));
      continue;
    }
    if (current.pid !== process.pid && alive(current.pid)) {
      if (current.state !== "stopping" || Date.now() > deadline) {
        throw new DatabaseOwnedError(dataDir, current);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    // The owner died without releasing. Only the holder of the takeover lock may delete a
    // record, so two successors cannot delete each other's fresh one.
    const takeover = `${file}.takeover`;
    try {
      const fd = openSync(takeover, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      let holder = 0;
      try {
        holder = Number(readFileSync(takeover, "utf8") || 0);
      } catch {
        // Released between our attempt and this read: try again.
      }
      if (holder && !alive(holder)) rmSync(takeover, { force: true });
      await new Promise((resolve) => setTimeout(resolve, 20));
      continue;
    }
    try {
      const again = JSON.parse(readFileSync(file, "utf8")) as OwnerRecord;
      if (again.pid === current.pid) rmSync(file, { force: true });
    } catch {
      // Gone already: the next round creates it.
    } finally {
      rmSync(takeover, { force: true });
    }
  }

  let released = false;
  return {
    update(change) {
      if (released) return;
      record = { ...record, ...change };
      write();
    },
    release() {
      if (released) return;
      released = true;
      const current = readOwner(dataDir);
      if (current?.pid === process.pid) rmSync(file, { force: true });
    },
  };
}
