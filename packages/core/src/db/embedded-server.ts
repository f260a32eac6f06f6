import { createServer, type Socket } from "node:net";
import type { PGlite } from "@electric-sql/pglite";

/**
 * Serves an embedded PGlite database over the Postgres wire protocol on loopback, so every
 * client (the API, `npm run tasks`, psql, drizzle-kit studio) reaches the one process that owns
 * its files, with the same driver as production.
 *
 * PGlite has one backend, so clients take turns on it. A turn is a unit the protocol ends: a
 * simple Query, or extended-protocol messages up to a Sync or Flush (Parse/Bind/Execute share the
 * unnamed statement and portal, so another client's messages between them would break both).
 * Named prepared statements and portals live on that one backend too, so each client's names are
 * prefixed with its own (`c7_s1`): two postgres.js pools both naming a statement `s1` would
 * otherwise run each other's SQL. Session settings (SET, temporary tables) are shared.
 * A client whose turn leaves a transaction open (ReadyForQuery says T or E), or stops at a Flush
 * before its Sync, keeps the backend until it is idle again; others wait. A client that disconnects mid-transaction is rolled back.
 * (pglite-socket's multiplexer turns per message, which fails a postgres.js pool with
 * `portal "" does not exist`: docs/decisions/015-one-owner-for-the-embedded-database.md.)
 */

const SSL_REQUEST = 80877103;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;
const MAX_STARTUP_BYTES = 10_000;
/** Query, Parse, Bind, Execute, Describe, Close, Flush, Sync, FunctionCall, Terminate. */
const FRONTEND_TYPES = new Set(["Q", "P", "B", "E", "D", "C", "H", "S", "F", "X"]);
const SYNC = new Uint8Array([0x53, 0, 0, 0, 4]);

interface Turn {
  client: Client;
  message: Uint8Array;
}

interface Client {
  id: number;
  socket: Socket;
  buffer: Buffer;
  started: boolean;
  pending: Buffer[];
  /** Its prepared statements, by their name on the backend, to drop when it leaves. */
  statements: Set<string>;
}

export interface EmbeddedServer {
  port: number;
  /** Closes every client connection (rolling back an open transaction) and stops listening. */
  stop(): Promise<void>;
}

export async function serveEmbedded(
  db: PGlite,
  options: { port?: number; host?: string } = {},
): Promise<EmbeddedServer> {
  const queue: Turn[] = [];
  let holder: Client | undefined;
  let running = false;
  let nextID = 1;
  const clients = new Set<Client>();

  async function run() {
    if (running) return;
    running = true;
    try {
      for (;;) {
        const index = holder ? queue.findIndex((turn) => turn.client === holder) : 0;
        if (index === -1 || queue.length === 0) return;
        const [turn] = queue.splice(index, 1);
        if (!turn || turn.client.socket.destroyed) continue;
        // The last bytes of the response, across chunks: its ReadyForQuery may span two.
        let tail: Uint8Array = new Uint8Array(0);
        try {
          await db.runExclusive(() =>
            db.execProtocolRawStream(turn.message, {
              onRawData: (data) => {
                tail = lastBytes(tail, data, 6);
                if (!turn.client.socket.destroyed) turn.client.socket.write(data);
              },
            }),
          );
        } catch (error) {
          // This turn's client gets no answer it could trust; the others go on.
          turn.client.socket.destroy(error as Error);
          if (holder === turn.client) holder = undefined;
          continue;
        }
        // In a transaction (T, E), or mid-sequence after a Flush (no ReadyForQuery yet), the
        // backend's state is this client's until it is idle again.
        const status = readyStatus(tail);
        if (status === "I" || turn.client.socket.destroyed) {
          if (holder === turn.client) holder = undefined;
        } else {
          holder = turn.client;
        }
      }
    } finally {
      running = false;
    }
  }

  function enqueue(client: Client, message: Buffer) {
    queue.push({ client, message: new Uint8Array(message) });
    void run();
  }

  async function disconnect(client: Client) {
    clients.delete(client);
    for (let i = queue.length - 1; i >= 0; i--) if (queue[i]?.client === client) queue.splice(i, 1);
    const held = holder === client;
    if (held) {
      // A Sync first: a client that left mid-error has the backend skipping to the next Sync,
      // which would swallow the rollback.
      await db.runExclusive(() => db.execProtocolRaw(SYNC)).catch(() => {});
    }
    const cleanup = [
      ...(held ? ["rollback"] : []),
      ...[...client.statements].map((name) => `deallocate "${name}"`),
    ];
    for (const statement of cleanup) {
      // exec takes PGlite's lock itself (inside runExclusive it would wait for itself).
      await db.exec(statement).catch(() => {});
    }
    // Released only once cleaned up, so no other client runs in the abandoned transaction.
    if (held) holder = undefined;
    void run();
  }

  function receive(client: Client, chunk: Buffer) {
    client.buffer = Buffer.concat([client.buffer, chunk]);
    for (;;) {
      if (!client.started) {
        if (client.buffer.length < 8) return;
        const length = client.buffer.readInt32BE(0);
        const code = client.buffer.readInt32BE(4);
        if (length < 8 || length > MAX_STARTUP_BYTES) {
          client.socket.destroy(new Error(`malformed startup packet (${length} bytes)`));
          return;
        }
        if (client.buffer.length < length) return;
        const message = client.buffer.subarray(0, length);
        client.buffer = client.buffer.subarray(length);
        if (code === SSL_REQUEST) {
          client.socket.write("N"); // no TLS on loopback
        } else if (code === CANCEL_REQUEST) {
          // Not supported: a turn cannot be interrupted. The client's own timeout applies.
        } else if (code === PROTOCOL_3) {
          client.started = true;
          enqueue(client, Buffer.from(message));
        } else {
          client.socket.destroy(new Error(`unsupported startup code ${code}`));
          return;
        }
        continue;
      }
      if (client.buffer.length < 5) return;
      const length = 1 + client.buffer.readInt32BE(1);
      const type = String.fromCharCode(client.buffer[0] ?? 0);
      // Only the messages this server can take turns on: COPY (d, c, f) would leave the one
      // backend waiting for input mid-turn, for every client.
      if (length < 5 || !FRONTEND_TYPES.has(type)) {
        client.socket.destroy(new Error(`unsupported message ${JSON.stringify(type)}`));
        return;
      }
      if (client.buffer.length < length) return;
      const message = client.buffer.subarray(0, length);
      client.buffer = client.buffer.subarray(length);
      if (type === "X") {
        client.socket.end();
        return;
      }
      client.pending.push(namespaced(client, type, Buffer.from(message)));
      // A turn ends where the client waits for the server: Sync, Flush, a simple Query, a
      // function call.
      if (type === "S" || type === "H" || type === "Q" || type === "F") {
        enqueue(client, Buffer.concat(client.pending));
        client.pending = [];
      }
    }
  }

  const server = createServer((socket) => {
    socket.setNoDelay(true);
    const client: Client = {
      id: nextID++,
      socket,
      buffer: Buffer.alloc(0),
      started: false,
      pending: [],
      statements: new Set(),
    };
    clients.add(client);
    socket.on("data", (chunk) => receive(client, chunk));
    socket.on("error", () => socket.destroy());
    socket.on("close", () => void disconnect(client));
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : 0);
    });
  });

  return {
    port,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const client of clients) client.socket.destroy();
      });
      while (running || holder) await new Promise((resolve) => setTimeout(resolve, 10));
    },
  };
}

/** The last `n` bytes of `before` followed by `data`. */
function lastBytes(before: Uint8Array, data: Uint8Array, n: number): Uint8Array {
  if (data.length >= n) return data.slice(data.length - n);
  const joined = new Uint8Array(before.length + data.length);
  joined.set(before);
  joined.set(data, before.length);
  return joined.subarray(Math.max(0, joined.length - n));
}

/** The status of the last ReadyForQuery ('Z') in a response: I idle, T in a transaction, E failed. */
function readyStatus(data: Uint8Array): string | undefined {
  // ReadyForQuery is 'Z', length 5, status: the last 6 bytes of a complete response.
  const at = data.length - 6;
  if (at < 0 || data[at] !== 0x5a) return undefined;
  return String.fromCharCode(data[at + 5] ?? 0);
}

/** A C string at `at`: its text and the offset after its NUL. */
function cstring(message: Buffer, at: number): [string, number] {
  const end = message.indexOf(0, at);
  return [message.toString("utf8", at, end), end + 1];
}

/**
 * Prefixes the statement and portal names a message carries with the client's (the unnamed ones,
 * "", stay unnamed: they last one turn). Parse, Bind, Describe, Close and Execute name them.
 */
function namespaced(client: Client, type: string, message: Buffer): Buffer {
  const prefix = `c${client.id}_`;
  const names: [number, number][] = []; // [start, end) of each name to prefix
  let at = 5;
  if (type === "P" || type === "E") {
    const [name, next] = cstring(message, at);
    names.push([at, next - 1]);
    if (type === "P" && name !== "") client.statements.add(prefix + name);
  } else if (type === "B") {
    const [, afterPortal] = cstring(message, at);
    names.push([at, afterPortal - 1]);
    at = afterPortal;
    const [, afterStatement] = cstring(message, at);
    names.push([at, afterStatement - 1]);
  } else if (type === "D" || type === "C") {
    at += 1; // 'S' statement or 'P' portal
    const [name, next] = cstring(message, at);
    names.push([at, next - 1]);
    if (type === "C" && message[5] === 0x53 && name !== "") client.statements.delete(prefix + name);
  } else {
    return message;
  }
  const parts: Buffer[] = [];
  let from = 1 + 4;
  for (const [start, end] of names) {
    parts.push(message.subarray(from, start));
    if (end > start) parts.push(Buffer.from(prefix));
    parts.push(message.subarray(start, end));
    from = end;
  }
  parts.push(message.subarray(from));
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(5);
  header[0] = message[0] ?? 0;
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}
