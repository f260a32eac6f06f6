import { readFileSync } from "node:fs";
import path from "node:path";
import { getTableColumns } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { appTables, importSource, sourceFiles } from "../test/tables";
import { repoRoot } from "./config";
import { TASK_NAMES } from "./observability/metric-catalog";
import { schedules } from "./schedules";
import { scheduleMessage } from "./task/queue-policy";
import type { Schedule } from "./task/schedule";
import { Envelope, isTaskContract, isTaskHandler, type TaskHandler } from "./task/task";
import { tasks } from "./tasks";

/**
 * A module adds a task, a schedule or a table by writing it in its own folder; these tests fail
 * when it exists there but the app does not know it (a handler the worker would not run, a
 * contract nobody handles, a schedule never created, a column with no migration), naming it.
 * Each check also runs against a registry with one entry taken out, to show it bites.
 */

/** Every export of every non-test file in a module folder of src/ (entry files excluded). */
async function moduleExports(suffix = ".ts") {
  const found: { where: string; value: unknown }[] = [];
  for (const file of sourceFiles(suffix).filter((f) => f.includes(path.sep))) {
    for (const [name, value] of Object.entries(await importSource(file))) {
      for (const item of Array.isArray(value) ? value : [value]) {
        found.push({ where: `${name} (${file})`, value: item });
      }
    }
  }
  return found;
}

/** Handlers in a `*.tasks.ts` that the registry lacks. */
async function unlistedHandlers(registry: readonly TaskHandler[]) {
  return (await moduleExports(".tasks.ts"))
    .filter((e) => isTaskHandler(e.value) && !registry.includes(e.value))
    .map((e) => e.where);
}

/** Contracts (defineTask) anywhere in a module that no registered handler runs. */
async function unhandledContracts(registry: readonly TaskHandler[]) {
  const handled = new Set(registry.map((t) => t.name));
  return (await moduleExports())
    .filter((e) => isTaskContract(e.value) && !isTaskHandler(e.value) && !handled.has(e.value.name))
    .map((e) => e.where);
}

/** Schedules in a `*.schedules.ts` that the registry lacks. */
async function unlistedSchedules(registry: readonly Schedule[]) {
  return (await moduleExports(".schedules.ts"))
    .filter((e) => !registry.includes(e.value as Schedule))
    .map((e) => e.where);
}

function latestSnapshotColumns(): string[] {
  const meta = path.join(repoRoot, "migrations/meta");
  const journal = JSON.parse(readFileSync(path.join(meta, "_journal.json"), "utf8")) as {
    entries: { idx: number }[];
  };
  const last = String(journal.entries.at(-1)?.idx ?? 0).padStart(4, "0");
  const snapshot = JSON.parse(readFileSync(path.join(meta, `${last}_snapshot.json`), "utf8")) as {
    tables: Record<string, { columns: Record<string, unknown> }>;
  };
  return Object.entries(snapshot.tables).flatMap(([table, { columns }]) =>
    Object.keys(columns).map((column) => `${table.replace(/^public\./, "")}.${column}`),
  );
}

// drizzle's casing: "snake_case" (drizzle.config.ts): userId → user_id.
const snakeCase = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Columns of the `*.sql.ts` tables that the migrations do not create. */
async function unmigratedColumns(migrated: readonly string[]) {
  const defined = (await appTables()).flatMap(({ name, table }) =>
    Object.values(getTableColumns(table)).map((column) => `${name}.${snakeCase(column.name)}`),
  );
  return defined.filter((column) => !migrated.includes(column));
}

describe("registries", () => {
  it("every task handler of a *.tasks.ts is in src/tasks.ts", async () => {
    expect(await unlistedHandlers(tasks)).toEqual([]);
    const [first, ...rest] = tasks;
    expect(await unlistedHandlers(rest)).toEqual([expect.stringContaining(`.tasks.ts`)]);
    expect(first).toBeDefined();
  });

  it("every task contract a module declares has a handler in src/tasks.ts", async () => {
    expect(await unhandledContracts(tasks)).toEqual([]);
    const without = tasks.filter((t) => t.name !== "mail.deliver");
    expect(await unhandledContracts(without)).toEqual([
      expect.stringMatching(/^deliverTask \(mail[/\\]mail\.ts\)$/),
    ]);
  });

  it("the metric catalog's task names are exactly the worker's tasks, and other (the dashboard shows each)", () => {
    // A task missing here is counted as `other`: still measured, but no widget names it.
    expect([...TASK_NAMES].sort()).toEqual([...tasks.map((t) => t.name), "other"].sort());
  });

  it("every schedule of a *.schedules.ts is in src/schedules.ts and sends an envelope of a known task", async () => {
    expect(await unlistedSchedules(schedules)).toEqual([]);
    expect(await unlistedSchedules(schedules.filter((s) => s.name !== "digest-daily"))).toEqual([
      expect.stringMatching(/^digestDaily \(digest[/\\]digest\.schedules\.ts\)$/),
    ]);
    for (const schedule of schedules) {
      const envelope = Envelope.parse(JSON.parse(scheduleMessage(schedule)));
      expect(
        tasks.map((t) => t.name),
        schedule.name,
      ).toContain(envelope.task);
    }
  });

  it("every column of a *.sql.ts table is in the latest migration snapshot (npm run db:generate)", async () => {
    const migrated = latestSnapshotColumns();
    expect(await unmigratedColumns(migrated)).toEqual([]);
    expect(await unmigratedColumns(migrated.filter((c) => c !== "note.title"))).toEqual([
      "note.title",
    ]);
    // And the other way: nothing migrated that no module defines any more.
    const defined = (await appTables()).map((t) => t.name);
    expect(migrated.filter((c) => !defined.includes(c.split(".")[0] ?? ""))).toEqual([]);
  });
});
