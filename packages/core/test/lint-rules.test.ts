import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { foreignWrites } from "../../../scripts/lint/table-writes";
import { repoRoot } from "../src/config";

/**
 * The architecture rules are checked by `npm run lint`, not remembered. Each rule is shown to
 * fail on a planted breakage and to pass the legal form beside it: the planted files go into a
 * scratch tree linted with this repository's biome.json, so the real tree is never touched.
 */

/** Lints `files` (path → source) with the repo's Biome config; returns "rule path" per error. */
function lint(files: Record<string, string>): string[] {
  const root = mkdtempSync(path.join(tmpdir(), "slipway-lint-"));
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  copyFileSync(path.join(repoRoot, "biome.json"), path.join(root, "biome.json"));
  for (const [file, source] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), source);
  }
  const biome = path.join(repoRoot, "node_modules/.bin/biome");
  const run = spawnSync(biome, ["lint", "--vcs-enabled=false", "--reporter=github", "."], {
    cwd: root,
    encoding: "utf8",
  });
  return [...run.stdout.matchAll(/::error title=lint\/\w+\/(\w+),file=([^,]+),/g)].map(
    ([, rule, file = ""]) => `${rule} ${path.relative(root, file)}`,
  );
}

const uses = (name: string) => `export const used = () => ${name};\n`;

describe("lint rules of the architecture", () => {
  it("platform folders import nothing of the app: not the registries, not a domain module", () => {
    expect(
      lint({
        "packages/core/src/task/planted.ts": `import { tasks } from "../tasks";\n${uses("tasks")}`,
        "packages/core/src/db/planted.ts": `import { Note } from "../note";\n${uses("Note")}`,
        "packages/core/src/config.ts": `import { keys } from "./attachment/attachment.keys";\n${uses("keys")}`,
        // Legal: platform and kernel imports.
        "packages/core/src/http/fine.ts": `import { config } from "../config";\nimport { useTransaction } from "../db/transaction";\nimport { x } from "./x";\n${uses("[config, useTransaction, x]")}`,
        "packages/core/src/log.ts": `import { errorFields } from "./observability/redact";\n${uses("errorFields")}`,
      }).sort(),
    ).toEqual([
      "noRestrictedImports packages/core/src/config.ts",
      "noRestrictedImports packages/core/src/db/planted.ts",
      "noRestrictedImports packages/core/src/task/planted.ts",
    ]);
  });

  it("no import cycles, a dynamic import() included", () => {
    expect(
      lint({
        "packages/core/src/order/order.ts": `export async function f() {\n  const { g } = await import("./order.tasks");\n  return g;\n}\n`,
        "packages/core/src/order/order.tasks.ts": `import { f } from "./order";\n${uses("f")}export const g = 1;\n`,
      }).sort(),
    ).toEqual([
      "noImportCycles packages/core/src/order/order.tasks.ts",
      "noImportCycles packages/core/src/order/order.ts",
    ]);
  });

  it("routes never import drizzle", () => {
    expect(
      lint({
        "packages/core/src/order/order.routes.ts": `import { eq } from "drizzle-orm";\n${uses("eq")}`,
        "packages/core/src/order/order.ts": `import { eq } from "drizzle-orm";\n${uses("eq")}`,
      }),
    ).toEqual(["noRestrictedImports packages/core/src/order/order.routes.ts"]);
  });

  it("a module never writes another module's table; reading it is fine", () => {
    const source = [
      `import { noteTable } from "../note/note.sql";`,
      `import { orderTable } from "./order.sql";`,
      "tx.select().from(noteTable);",
      "tx.insert(orderTable).values({});",
    ].join("\n");
    expect(foreignWrites("order/order.ts", "order", source)).toEqual([]);
    for (const write of ["insert", "update", "delete"]) {
      expect(
        foreignWrites("order/order.ts", "order", `${source}\ntx.${write}(noteTable);`),
      ).toEqual([
        {
          file: "order/order.ts",
          table: "noteTable",
          owner: "note",
          write: `.${write}(noteTable)`,
        },
      ]);
    }
  });

  it("a table reached through the registry is written only by the console's generic edit", () => {
    const source = "await tx.update(entry.table).set(values).where(match);";
    expect(foreignWrites("admin/tables.ts", "admin", source)).toEqual([]);
    expect(foreignWrites("order/order.ts", "order", source)).toEqual([
      expect.objectContaining({ file: "order/order.ts", write: ".update(entry.table" }),
    ]);
    expect(foreignWrites("order/order.ts", "order", "tx.select().from(entry.table);")).toEqual([]);
  });
});
