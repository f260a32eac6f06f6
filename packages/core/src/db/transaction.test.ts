import { sql } from "drizzle-orm";
import { describe, expect, it, onTestFinished } from "vitest";
import { captureLogs } from "../../test/logs";
import { database, type Executor, queryRows } from "./client";
import { afterCommit, createTransaction, rollback, useTransaction } from "./transaction";

// Tests that must commit get a table of their own, dropped afterwards, so they stay independent.
async function scratchTable() {
  const name = `scratch_${Math.random().toString(36).slice(2, 10)}`;
  const { db } = await database();
  await db.execute(sql.raw(`create table ${name} (value text not null)`));
  onTestFinished(async () => {
    await db.execute(sql.raw(`drop table if exists ${name}`));
  });
  const insert = (tx: Executor, value: string) =>
    tx.execute(sql`insert into ${sql.identifier(name)} (value) values (${value})`);
  const values = async () =>
    (
      await useTransaction((tx) =>
        queryRows<{ value: string }>(
          tx,
          sql`select value from ${sql.identifier(name)} order by value`,
        ),
      )
    ).map((row) => row.value);
  return { insert, values };
}

describe("transactions", () => {
  it("runs after-commit effects once the transaction commits, with the data visible", async () => {
    const table = await scratchTable();
    const seen: string[][] = [];
    await createTransaction(async (tx) => {
      await table.insert(tx, "a");
      await afterCommit(async () => {
        seen.push(await table.values());
      });
      expect(seen).toEqual([]); // not before the commit
    });
    expect(seen).toEqual([["a"]]);
  });

  it("never runs effects of a transaction that rolled back, and keeps none of its writes", async () => {
    const table = await scratchTable();
    let ran = false;
    await expect(
      createTransaction(async (tx) => {
        await table.insert(tx, "a");
        await afterCommit(() => {
          ran = true;
        });
        throw new Error("business rule failed");
      }),
    ).rejects.toThrow("business rule failed");
    expect(ran).toBe(false);
    expect(await table.values()).toEqual([]);
  });

  it("nests as a savepoint: useTransaction joins, effects wait for the outermost commit", async () => {
    const table = await scratchTable();
    const order: string[] = [];
    await expect(
      createTransaction(async (outer) => {
        await createTransaction(async (inner) => {
          await table.insert(inner, "inner");
          await afterCommit(() => order.push("inner effect"));
        });
        await useTransaction(async (tx) => {
          expect(tx).toBe(outer);
        });
        // The nested block committed nothing on its own: its effect waits for the outer.
        expect(order).toEqual([]);
        throw new Error("outer fails");
      }),
    ).rejects.toThrow("outer fails");
    expect(order).toEqual([]);
    expect(await table.values()).toEqual([]);
  });

  it("a failing nested block rolls back alone, with its effects, and the outer commits", async () => {
    const table = await scratchTable();
    const order: string[] = [];
    await createTransaction(async (outer) => {
      await table.insert(outer, "outer");
      await createTransaction(async (inner) => {
        await table.insert(inner, "inner");
        await afterCommit(() => order.push("inner effect"));
        throw new Error("nested fails");
      }).catch(() => undefined);
      await afterCommit(() => order.push("outer effect"));
    });
    expect(await table.values()).toEqual(["outer"]);
    expect(order).toEqual(["outer effect"]);
  });

  it("runs an effect at once outside a transaction, and a failing effect does not fail the write", async () => {
    const table = await scratchTable();
    let ran = false;
    await afterCommit(() => {
      ran = true;
    });
    expect(ran).toBe(true);

    const logs = captureLogs();
    await createTransaction(async (tx) => {
      await table.insert(tx, "kept");
      await afterCommit(() => {
        throw new Error("effect failed");
      });
    });
    expect(await table.values()).toEqual(["kept"]);
    expect(logs).toMatchObject([{ level: "error", message: "after-commit effect failed" }]);
  });

  it("rollback() undoes everything and hands back the effects a commit would have run", async () => {
    const table = await scratchTable();
    const { effects } = await rollback(async (tx) => {
      await table.insert(tx, "gone");
      expect(await table.values()).toEqual(["gone"]); // visible inside
      await afterCommit(() => "would publish");
    });
    expect(effects).toHaveLength(1);
    expect(await table.values()).toEqual([]);
  });
});
