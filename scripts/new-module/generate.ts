import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { idPrefix, type ModuleNames, moduleNames, NameError } from "./names";

/**
 * `npm run new:module -- <name>`: a module as packages/core/README.md describes one, wired into
 * the composition root and migrated. In order, so that a refusal leaves the tree untouched:
 * 1. the name is checked (names.ts) and every registry edit is made in memory: an anchor that is
 *    missing (a registry reshaped since this was written) fails here, naming the file and what it
 *    looked for;
 * 2. the module's files are written from templates/ and the registries saved;
 * 3. Biome formats the files written and edited (and sorts their imports);
 * 4. `npm run db:generate` writes the migration, and the OpenAPI client's types are regenerated
 *    (openapi-client.test.ts compares them with the live document).
 */

export class AnchorError extends Error {}

export interface Generated {
  names: ModuleNames;
  prefix: string;
  /** Repo-relative paths of the module's new files. */
  created: string[];
  /** Repo-relative paths of the files edited to wire it in. */
  edited: string[];
}

const templates = path.join(path.dirname(fileURLToPath(import.meta.url)), "templates");

/** The module's files: template name → file name in its folder. */
const FILES: [string, (n: ModuleNames) => string][] = [
  ["sql.ts.tpl", (n) => `${n.kebab}.sql.ts`],
  ["module.ts.tpl", (n) => `${n.kebab}.ts`],
  ["routes.ts.tpl", (n) => `${n.kebab}.routes.ts`],
  ["tasks.ts.tpl", (n) => `${n.kebab}.tasks.ts`],
  ["schedules.ts.tpl", (n) => `${n.kebab}.schedules.ts`],
  ["index.ts.tpl", () => "index.ts"],
  ["happy.test.ts.tpl", (n) => `${n.kebab}.happy.test.ts`],
  ["error.test.ts.tpl", (n) => `${n.kebab}.error.test.ts`],
  ["security.test.ts.tpl", (n) => `${n.kebab}.security.test.ts`],
];

function fill(template: string, n: ModuleNames, prefix: string): string {
  const words = n.words.charAt(0).toUpperCase() + n.words.slice(1);
  const tokens: Record<string, string> = {
    __kebab__: n.kebab,
    __camel__: n.camel,
    __Pascal__: n.pascal,
    __snake__: n.snake,
    __plural__: n.plural,
    __PluralPascal__: n.pluralPascal,
    __words__: n.words,
    __Words__: words,
    __pluralWords__: n.plural.replaceAll("-", " "),
    __prefix__: prefix,
    // The typed client's property for the path: `.widgets`, or `["order-items"]`.
    __pluralAccess__: /^[a-z][a-z0-9]*$/.test(n.plural) ? `.${n.plural}` : `["${n.plural}"]`,
  };
  return template.replace(
    /__(kebab|camel|Pascal|snake|plural|PluralPascal|words|Words|pluralWords|prefix|pluralAccess)__/g,
    (token) => tokens[token] ?? token,
  );
}

/** Inserts `text` before the first line at or after `from` that `before` matches. */
function insertBefore(
  source: string,
  file: string,
  anchor: { describe: string; after?: RegExp; before: RegExp },
  text: string,
): string {
  const lines = source.split("\n");
  const start = anchor.after ? lines.findIndex((line) => anchor.after?.test(line)) : 0;
  const at = start < 0 ? -1 : lines.findIndex((line, i) => i > start && anchor.before.test(line));
  if (at < 0) {
    throw new AnchorError(
      `${file}: cannot find ${anchor.describe}; the generator edits it there (scripts/new-module/generate.ts). Wire the module by hand (packages/core/README.md) or update the anchor.`,
    );
  }
  lines.splice(at, 0, text);
  return lines.join("\n");
}

/** Adds an import after the file's last one (Biome sorts them afterwards). */
function addImport(source: string, file: string, text: string): string {
  const lines = source.split("\n");
  const last = lines.findLastIndex((line) => /^(import .*|\} from .*) ["'][^"']+["'];$/.test(line));
  if (last < 0) throw new AnchorError(`${file}: cannot find its imports to add one after them`);
  lines.splice(last + 1, 0, text);
  return lines.join("\n");
}

/** The edits of the composition root and id.ts, made in memory: an anchor missing throws. */
function wiring(core: string, n: ModuleNames, prefix: string): Map<string, string> {
  const read = (file: string) => readFileSync(path.join(core, "src", file), "utf8");
  const edits = new Map<string, string>();

  // id.ts: the kind and its prefix, last in the prefixes object.
  edits.set(
    "id.ts",
    insertBefore(
      read("id.ts"),
      "id.ts",
      {
        describe: "the `prefixes` object ending in `} as const;`",
        after: /^const prefixes = \{$/,
        before: /^\} as const;$/,
      },
      `  ${n.camel}: "${prefix}",`,
    ),
  );

  // api.ts: the import, the route before the offline-only dev routes, the OpenAPI tag.
  let api = read("api.ts");
  api = addImport(api, "api.ts", `import { ${n.pascal}Routes } from "./${n.kebab}";`);
  api = insertBefore(
    api,
    "api.ts",
    {
      describe: 'the module routes, before `.route("/dev", …)`',
      after: /\.route\("\/health", HealthRoutes\)/,
      // The route goes above the dev routes and the comment that introduces them.
      before: /^\s*(\/\/ Offline only|\.route\("\/dev")/,
    },
    `  .route("/${n.plural}", ${n.pascal}Routes)`,
  );
  // The tag goes before the dev module's (offline-only tools stay last but for `meta`), whether
  // that entry is written on one line or over several.
  const lines = api.split("\n");
  const tagsStart = lines.findIndex((line) => /^\s*tags: \[$/.test(line));
  const dev = lines.findIndex((line, i) => i > tagsStart && /^\s*(\{ )?name: "dev",/.test(line));
  if (tagsStart < 0 || dev < 0) {
    throw new AnchorError(
      'api.ts: cannot find the OpenAPI `tags: [` list with the `name: "dev"` tag in it; the generator adds the module\'s tag before that one (scripts/new-module/generate.ts). Add it by hand or update the anchor.',
    );
  }
  const entry = lines[dev]?.trimStart().startsWith("{") ? dev : dev - 1;
  if (lines[entry]?.trimStart().startsWith("{") !== true) {
    throw new AnchorError('api.ts: the `name: "dev"` tag is not inside a `{ … }` entry');
  }
  lines.splice(
    entry,
    0,
    `    { name: "${n.plural}", description: "The signed-in user's ${n.plural.replaceAll("-", " ")} (${n.kebab} module)" },`,
  );
  api = lines.join("\n");
  edits.set("api.ts", api);

  // tasks.ts: the import and the spread, last in the list.
  let tasks = read("tasks.ts");
  tasks = addImport(
    tasks,
    "tasks.ts",
    `import { ${n.camel}Tasks } from "./${n.kebab}/${n.kebab}.tasks";`,
  );
  tasks = insertBefore(
    tasks,
    "tasks.ts",
    {
      describe: "the list `export const tasks: readonly TaskHandler[] = [` … `];`",
      after: /^export const tasks: readonly TaskHandler\[\] = \[$/,
      before: /^\];$/,
    },
    `  ...${n.camel}Tasks,`,
  );
  edits.set("tasks.ts", tasks);

  // schedules.ts: the import and the entry, last in the list (one line or several).
  let schedules = read("schedules.ts");
  schedules = addImport(
    schedules,
    "schedules.ts",
    `import { ${n.camel}Daily } from "./${n.kebab}/${n.kebab}.schedules";`,
  );
  const list = /^(export const schedules: readonly Schedule\[\] = \[)([^\]]*)(\];)$/m;
  if (list.test(schedules)) {
    schedules = schedules.replace(list, (_, open: string, items: string, close: string) => {
      const kept = items.trim().replace(/,$/, "");
      return `${open}${kept ? `${kept}, ` : ""}${n.camel}Daily${close}`;
    });
  } else {
    schedules = insertBefore(
      schedules,
      "schedules.ts",
      {
        describe: "the list `export const schedules: readonly Schedule[] = [` … `];`",
        after: /^export const schedules: readonly Schedule\[\] = \[$/,
        before: /^\];$/,
      },
      `  ${n.camel}Daily,`,
    );
  }
  edits.set("schedules.ts", schedules);

  // tables.ts: the module's `*.sql.ts` as a namespace (every table in it), last in the object the
  // operator console browses (one line or several).
  let tables = read("tables.ts");
  tables = addImport(
    tables,
    "tables.ts",
    `import * as ${n.camel} from "./${n.kebab}/${n.kebab}.sql";`,
  );
  const modules = /^(export const tables = collectTables\(\{)([^}]*)(\}\);)$/m;
  if (!modules.test(tables)) {
    throw new AnchorError(
      "tables.ts: cannot find `export const tables = collectTables({ … });`; the generator adds the module's tables there (scripts/new-module/generate.ts). Add it by hand or update the anchor.",
    );
  }
  tables = tables.replace(modules, (_, open: string, items: string, close: string) => {
    const kept = items.trim().replace(/,$/, "");
    // Keyed by the folder's name (the console shows it as the table's module).
    const entry = n.kebab === n.camel ? n.camel : `"${n.kebab}": ${n.camel}`;
    return `${open}\n  ${kept ? `${kept},\n  ` : ""}${entry},\n${close}`;
  });
  edits.set("tables.ts", tables);
  return edits;
}

function run(command: string, args: string[], cwd: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const keep = (chunk: Buffer) => {
      output += chunk.toString();
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${what} failed (${command} ${args.join(" ")}):\n${output}`)),
    );
  });
}

/** Writes the module `rawName` into the repository at `root`. */
export async function generateModule(root: string, rawName: string): Promise<Generated> {
  const core = path.join(root, "packages/core");
  const src = path.join(core, "src");
  const idSource = readFileSync(path.join(src, "id.ts"), "utf8");
  const prefixes = /const prefixes = \{([^}]*)\}/.exec(idSource)?.[1] ?? "";
  const kinds = [...prefixes.matchAll(/^\s*(\w+):/gm)].map((m) => m[1] ?? "");
  const taken = [...prefixes.matchAll(/"(\w+)"/g)].map((m) => m[1] ?? "");
  const names = moduleNames(rawName, src, kinds);
  const mounted = readFileSync(path.join(src, "api.ts"), "utf8");
  if (mounted.includes(`.route("/${names.plural}"`)) {
    throw new NameError(`"${rawName}" would be served at /api/${names.plural}, which is taken`);
  }
  const prefix = idPrefix(names.camel, taken);
  const edits = wiring(core, names, prefix);

  // What the steps below change, as it was: a step that fails puts it all back.
  const kept = new Map<string, string>();
  for (const file of [
    ...[...edits.keys()].map((f) => path.join(src, f)),
    path.join(root, "migrations/meta/_journal.json"),
    path.join(root, "packages/openapi-client/src/schema.ts"),
  ]) {
    if (existsSync(file)) kept.set(file, readFileSync(file, "utf8"));
  }
  const migrations = path.join(root, "migrations");
  const listed = () => [
    ...readdirSync(migrations).map((f) => path.join(migrations, f)),
    ...readdirSync(path.join(migrations, "meta")).map((f) => path.join(migrations, "meta", f)),
  ];
  const before = new Set(listed());
  const folder = path.join(src, names.kebab);
  const created: string[] = [];
  const edited = [...edits.keys()].map((f) => path.relative(root, path.join(src, f)));
  try {
    mkdirSync(folder);
    for (const [template, file] of FILES) {
      const target = path.join(folder, file(names));
      writeFileSync(
        target,
        fill(readFileSync(path.join(templates, template), "utf8"), names, prefix),
      );
      created.push(path.relative(root, target));
    }
    for (const [file, text] of edits) writeFileSync(path.join(src, file), text);

    const biome = path.join(root, "node_modules/.bin/biome");
    await run(
      biome,
      ["check", "--write", ...created, ...edited],
      root,
      "biome (formatting the files)",
    );
    // Side by side: drizzle-kit reads the tables, the client's types come from the routes. Both
    // settle before any failure is handled, so nothing writes after the tree is put back.
    const steps = await Promise.allSettled([
      run(
        "npm",
        ["run", "--silent", "db:generate", "--", `--name=add_${names.snake}`],
        root,
        "drizzle-kit generate (npm run db:generate)",
      ),
      run(
        process.execPath,
        ["--import", "tsx", path.join(root, "scripts/openapi-client.ts")],
        root,
        "regenerating the OpenAPI client's types (scripts/openapi-client.ts)",
      ),
    ]);
    const failed = steps.find((step) => step.status === "rejected");
    if (failed) throw failed.reason;
  } catch (error) {
    rmSync(folder, { recursive: true, force: true });
    for (const file of listed()) if (!before.has(file)) rmSync(file, { force: true });
    for (const [file, text] of kept) writeFileSync(file, text);
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}\nNothing was kept: the module's folder, the registries, the migrations and the client's types are as they were.`,
    );
  }
  const added = listed().filter(
    (file) => !before.has(file) && !file.includes(`${path.sep}meta${path.sep}`),
  );
  edited.push(
    ...added.map((file) => path.relative(root, file)),
    "migrations/meta/",
    "packages/openapi-client/src/schema.ts",
  );
  return { names, prefix, created, edited };
}
