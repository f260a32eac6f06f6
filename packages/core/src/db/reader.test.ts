import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { type Executor, queryRows } from "./client";
import { defineReadSites, withReadScope } from "./reader";
import { createTransaction, prepared, rollback, useTransaction } from "./transaction";

/**
 * The offline reader is the primary through a second, read-only connection (PGlite: read-only
 * transactions on its one connection), so `transaction_read_only` says which one served a call,
 * and a write sent to the reader fails as it would on a replica. Nothing here commits a row.
 */

const { atSite } = defineReadSites({
  lagTolerant: { reader: true, why: "test" },
  mustBeFresh: { reader: false, why: "test" },
});

const readOnly = (tx: Executor) =>
  queryRows<{ on: string }>(tx, sql`select current_setting('transaction_read_only') as on`).then(
    ([row]) => row?.on,
  );
/** Which database served a plain call here: "reader" or "primary". */
const served = async () => ((await useTransaction(readOnly)) === "on" ? "reader" : "primary");
const servedPrepared = prepared((db) =>
  db
    .select({ on: sql<string>`current_setting('transaction_read_only')` })
    .from(sql`(select 1) as one`)
    .prepare("reader_probe"),
);

const sqlState = (error: unknown): string | undefined => {
  for (let e = error; e instanceof Error; e = e.cause) {
    const code = (e as Error & { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
};

describe("read sites in a request", () => {
  it("a site marked reader reads the read-only reader; one marked not, and code outside any site, the primary", async () => {
    await withReadScope(async () => {
      expect(await atSite("lagTolerant", served)).toBe("reader");
      expect(await atSite("mustBeFresh", served)).toBe("primary");
      // A reader: false site is a read: it does not pin the request.
      expect(await atSite("lagTolerant", served)).toBe("reader");
    });
  });

  it("prepared queries and transactions at a reader site run on the reader too", async () => {
    await withReadScope(async () => {
      expect(await atSite("lagTolerant", () => servedPrepared())).toEqual([{ on: "on" }]);
      expect(await atSite("lagTolerant", () => createTransaction(readOnly))).toBe("on");
    });
  });

  it("a write sent to the reader fails (25006, read-only) and changes nothing", async () => {
    await withReadScope(async () => {
      const write = atSite("lagTolerant", () =>
        useTransaction((tx) => tx.execute(sql`create table reader_probe (x int)`)),
      );
      const error = await write.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(sqlState(error)).toBe("25006");
    });
    const [exists] = await useTransaction((tx) =>
      queryRows<{ t: string | null }>(tx, sql`select to_regclass('reader_probe')::text as t`),
    );
    expect(exists?.t).toBeNull();
  });

  it("once the request calls the database outside a read site (a write), every later read is the primary's", async () => {
    await withReadScope(async () => {
      expect(await atSite("lagTolerant", served)).toBe("reader");
      await useTransaction((tx) => tx.execute(sql`select 1`));
      expect(await atSite("lagTolerant", served)).toBe("primary");
      expect(await atSite("lagTolerant", () => servedPrepared())).toEqual([{ on: "off" }]);
    });
    await withReadScope(async () => {
      await createTransaction(async () => {});
      expect(await atSite("lagTolerant", served)).toBe("primary");
    });
    // The pin is the request's: the next request starts on the reader again.
    await withReadScope(async () => {
      expect(await atSite("lagTolerant", served)).toBe("reader");
    });
  });

  it("concurrent requests pin apart", async () => {
    const [wrote, only] = await Promise.all([
      withReadScope(async () => {
        await useTransaction((tx) => tx.execute(sql`select 1`));
        await new Promise((resolve) => setImmediate(resolve));
        return atSite("lagTolerant", served);
      }),
      withReadScope(async () => {
        await new Promise((resolve) => setImmediate(resolve));
        return atSite("lagTolerant", served);
      }),
    ]);
    expect([wrote, only]).toEqual(["primary", "reader"]);
  });

  it("inside an open transaction a reader site runs in it and sees its writes", async () => {
    await withReadScope(() =>
      rollback(async (tx) => {
        await tx.execute(sql`create temporary table reader_seen (x int) on commit drop`);
        await tx.execute(sql`insert into reader_seen values (7)`);
        const rows = await atSite("lagTolerant", () =>
          useTransaction((inner) =>
            queryRows<{ x: number }>(inner, sql`select x from reader_seen`),
          ),
        );
        expect(rows).toEqual([{ x: 7 }]);
        expect(await atSite("lagTolerant", served)).toBe("primary");
      }),
    );
  });

  it("outside a request (a task, a script) every read is the primary's", async () => {
    expect(await atSite("lagTolerant", served)).toBe("primary");
  });

  it("a site not in the list is refused, naming it", async () => {
    const untyped = atSite as (name: string, fn: () => Promise<unknown>) => Promise<unknown>;
    await expect(untyped("note.lsit", served)).rejects.toThrow(
      'read site "note.lsit" is not in the read-site list',
    );
  });
});
