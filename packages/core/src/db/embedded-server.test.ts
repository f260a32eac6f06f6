import { Socket } from "node:net";
import { PGlite } from "@electric-sql/pglite";
import postgres from "postgres";
import { afterAll, describe, expect, it, onTestFinished } from "vitest";
import { emptyPgliteTemplate } from "../../test/database";
import { serveEmbedded } from "./embedded-server";

/**
 * The embedded database served over the Postgres protocol to several clients at once, with the
 * driver production uses: their statements, transactions and prepared statements never mix.
 */
// One PGlite for the file (creating one takes seconds); each test gets a table of its own.
let shared: Promise<{ db: PGlite; port: number; stop(): Promise<void> }> | undefined;
let tables = 0;
afterAll(async () => {
  const opened = await shared;
  await opened?.stop();
});

async function served() {
  shared ??= (async () => {
    // From the initialised template, not initdb (test/database.ts).
    const db = await PGlite.create("memory://", { loadDataDir: await emptyPgliteTemplate() });
    const server = await serveEmbedded(db);
    return {
      db,
      port: server.port,
      stop: async () => {
        await server.stop();
        await db.close();
      },
    };
  })();
  const { db, port } = await shared;
  const table = `item_${++tables}`;
  await db.exec(`create table ${table} (id serial primary key, v text not null)`);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const pools: postgres.Sql[] = [];
  const pool = (max: number) => {
    const sql = postgres(url, { max, onnotice: () => {} });
    pools.push(sql);
    return sql;
  };
  onTestFinished(async () => {
    await Promise.all(pools.map((sql) => sql.end({ timeout: 1 })));
  });
  return { server: { port }, pool, table };
}

/** A raw protocol client: what drivers other than postgres.js (psql, node-pg, studio) send. */
async function rawClient(port: number) {
  const socket = new Socket();
  await new Promise<void>((resolve) => socket.connect(port, "127.0.0.1", resolve));
  onTestFinished(() => {
    socket.destroy();
  });
  const replies: Buffer[] = [];
  socket.on("data", (chunk) => replies.push(chunk));
  const message = (type: string, ...parts: (string | Buffer)[]) => {
    const body = Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : p)));
    const header = Buffer.alloc(5);
    header.write(type);
    header.writeInt32BE(body.length + 4, 1);
    return Buffer.concat([header, body]);
  };
  const startup = Buffer.concat([
    Buffer.from([0, 0, 0, 0, 0, 3, 0, 0]),
    Buffer.from("user\0postgres\0database\0postgres\0\0"),
  ]);
  startup.writeInt32BE(startup.length, 0);
  socket.write(startup);
  const none = Buffer.from([0, 0]);
  return {
    socket,
    /** Everything received so far, as text. */
    received: () => Buffer.concat(replies).toString("latin1"),
    query: (text: string) => socket.write(message("Q", `${text}\0`)),
    /** Parse a named statement, then bind it to the unnamed portal and execute it, then Sync. */
    prepareAndRun: (name: string, text: string) =>
      socket.write(
        Buffer.concat([
          message("P", `${name}\0${text}\0`, none),
          message("B", `\0${name}\0`, none, none, none),
          message("E", "\0", Buffer.from([0, 0, 0, 0])),
          message("S"),
        ]),
      ),
    run: (name: string) =>
      socket.write(
        Buffer.concat([
          message("B", `\0${name}\0`, none, none, none),
          message("E", "\0", Buffer.from([0, 0, 0, 0])),
          message("S"),
        ]),
      ),
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

describe("the embedded database server", () => {
  it("two pools of postgres.js (prepared statements, pipelining, transactions) at once: every statement right, none lost", async () => {
    const { pool, table } = await served();
    const a = pool(5);
    const b = pool(3);
    const work = (sql: postgres.Sql, i: number) =>
      i % 3 === 0
        ? sql`insert into ${sql(table)} (v) values (${`one ${i}`})`
        : i % 3 === 1
          ? sql`select count(*)::int as n from ${sql(table)} where v = ${`one ${i - 1}`}`
          : sql.begin(async (tx) => {
              await tx`insert into ${tx(table)} (v) values (${`tx ${i}`})`;
              await tx`select * from ${tx(table)} where v = ${`tx ${i}`}`;
            });
    await Promise.all(Array.from({ length: 600 }, (_, i) => work(i % 2 ? a : b, i)));
    const [count] = await a<{ n: number }[]>`select count(*)::int as n from ${a(table)}`;
    expect(count?.n).toBe(400);
    // The same text prepared by both pools: each gets its own statement (no "already exists").
    const same = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b)`select ${i}::int as i`),
    );
    expect(same.map((rows) => rows[0]?.i)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it("one client's open transaction is its own: another's writes wait, a rollback takes only its own", async () => {
    const { pool, table } = await served();
    const a = pool(1);
    const b = pool(1);
    const rolledBack = a
      .begin(async (tx) => {
        await tx`insert into ${tx(table)} (v) values ('rolled back')`;
        await new Promise((resolve) => setTimeout(resolve, 200));
        throw new Error("undo");
      })
      .catch(() => "rolled back");
    await new Promise((resolve) => setTimeout(resolve, 50));
    await b`insert into ${b(table)} (v) values ('kept')`;
    expect(await rolledBack).toBe("rolled back");
    const rows = await b<{ v: string }[]>`select v from ${b(table)} order by id`;
    expect(rows.map((row) => row.v)).toEqual(["kept"]);
  });

  it("a client that disconnects mid-transaction is rolled back, and the others go on", async () => {
    const { pool, server, table } = await served();
    const other = pool(1);
    const raw = await rawClient(server.port);
    raw.query(`begin; insert into ${table} (v) values ('never committed')`);
    await settle();
    expect(raw.received()).toContain("INSERT 0 1");
    raw.socket.destroy();

    await other`insert into ${other(table)} (v) values ('after')`;
    const rows = await other<{ v: string }[]>`select v from ${other(table)} order by id`;
    expect(rows.map((row) => row.v)).toEqual(["after"]);
  });

  it("two clients may name a prepared statement alike: each runs its own", async () => {
    const { server } = await served();
    const one = await rawClient(server.port);
    const two = await rawClient(server.port);
    one.prepareAndRun("s1", "select 'first client' as who");
    await settle();
    two.prepareAndRun("s1", "select 'second client' as who");
    await settle();
    one.run("s1");
    await settle();
    expect(two.received()).not.toContain("already exists");
    expect(two.received()).toContain("second client");
    expect(one.received().match(/first client/g)).toHaveLength(2);
    expect(one.received()).not.toContain("second client");
  });

  it("a response whose ReadyForQuery spans two chunks leaves the client idle: others go on", async () => {
    const { pool } = await served();
    const a = pool(1);
    const b = pool(1);
    // PGlite answers in 8192-byte chunks; rows of these sizes end the response a few bytes into
    // the next chunk, splitting its final ReadyForQuery.
    for (let size = 8080; size <= 8200; size++) {
      await a`select repeat('x', ${size}::int) as v`;
      const started = performance.now();
      await b`select 1`;
      expect(performance.now() - started, `a row of ${size} bytes`).toBeLessThan(1000);
    }
  }, 60_000);

  it("a message the server cannot take turns on (COPY data, an unknown type) closes that client only", async () => {
    const { pool, server } = await served();
    const other = pool(1);
    const raw = await rawClient(server.port);
    await settle();
    raw.socket.write(Buffer.from([0x64, 0, 0, 0, 5, 0x41])); // CopyData
    await settle();
    expect(raw.socket.destroyed || raw.socket.readableEnded).toBe(true);
    expect(await other`select 2 as two`).toEqual([{ two: 2 }]);
  });
});
