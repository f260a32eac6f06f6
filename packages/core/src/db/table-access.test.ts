import { integer, pgTable, text } from "drizzle-orm/pg-core";
import { describe, expect, it } from "vitest";
import { createTableBrowser } from "../admin/tables";
import { collectTables, tableAccess } from "./table-access";

const scratch = (name: string) =>
  pgTable(name, { id: text().primaryKey(), apiSecret: text(), note: text(), n: integer() });

describe("table access (the console's marker)", () => {
  it("collects every table a module's file exports, once, under its module; nothing else", () => {
    const a = scratch("a");
    const b = scratch("b");
    const found = collectTables({ one: { a, b, helper: () => 1, value: 3 }, two: { a } });
    expect(found.map((t) => [t.module, t.table])).toEqual([
      ["one", a],
      ["one", b],
    ]);
  });

  it("refuses a column both sensitive and editable, and a second declaration", () => {
    expect(() => tableAccess(scratch("c"), { sensitive: ["note"], editable: ["note"] })).toThrow(
      /note cannot be both sensitive and editable/,
    );
    const d = tableAccess(scratch("d"), { editable: ["note"] });
    expect(() => tableAccess(d, {})).toThrow(/declared twice/);
  });

  it("hides a column named like a secret though undeclared, and refuses to make it editable", () => {
    const e = scratch("e");
    const [table] = createTableBrowser(collectTables({ x: { e } })).list();
    expect(table?.columns.filter((c) => c.hidden).map((c) => c.name)).toEqual(["api_secret"]);
    const f = tableAccess(scratch("f"), { editable: ["apiSecret"] });
    expect(() => createTableBrowser(collectTables({ x: { f } })).list()).toThrow(
      /f\.api_secret: declared editable but its name marks it a secret/,
    );
  });
});
