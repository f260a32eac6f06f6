import { spawn } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AnchorError, generateModule } from "../../../scripts/new-module/generate";
import { idPrefix, moduleNames, NameError } from "../../../scripts/new-module/names";
import { repoRoot } from "../src/config";

/**
 * `npm run new:module` (scripts/new-module/): the names it refuses, and one module generated into
 * a copy of the repository with `--with-page`, which must then pass its own tests and its web
 * page's, the registries test, tsc and Biome, with its migration applied (the module's tests run
 * on it), and keep its page out of the site's initial JavaScript.
 */

const coreSrc = path.join(repoRoot, "packages/core/src");
const kinds = ["task", "message", "user", "note", "attachment"];

describe("module names", () => {
  it.each([
    ["", /needs a name/],
    ["   ", /needs a name/],
    ["Order", /not kebab-case \(order-item\) or camelCase/],
    ["order_item", /not kebab-case/],
    ["order--item", /not kebab-case/],
    ["1order", /not kebab-case/],
    ["order item", /not kebab-case/],
    ["order-Item", /not kebab-case/],
    ["x", /2 to 40 characters/],
    ["class", /"class" is a reserved word/],
    ["delete", /reserved word/],
    ["index", /reserved word/],
    ["api", /clashes with packages\/core\/src\/api, which exists/],
    ["test", /reserved word/],
    ["note", /clashes with packages\/core\/src\/note, which exists/],
    ["attachment", /clashes with packages\/core\/src\/attachment/],
    ["task", /clashes with packages\/core\/src\/task/],
    ["config", /clashes with packages\/core\/src\/config/],
    ["user", /is an id kind already/],
  ])("%j is refused, naming the problem", (name, message) => {
    expect(() => moduleNames(name, coreSrc, kinds)).toThrow(NameError);
    expect(() => moduleNames(name, coreSrc, kinds)).toThrow(message);
  });

  it("spells a kebab-case or camelCase name every way the code needs", () => {
    const expected = {
      kebab: "order-item",
      camel: "orderItem",
      pascal: "OrderItem",
      snake: "order_item",
      plural: "order-items",
      pluralPascal: "OrderItems",
      words: "order item",
    };
    expect(moduleNames("order-item", coreSrc, kinds)).toEqual(expected);
    expect(moduleNames("orderItem", coreSrc, kinds)).toEqual(expected);
    expect(moduleNames("box", coreSrc, kinds).plural).toBe("boxes");
    expect(moduleNames("city", coreSrc, kinds).plural).toBe("cities");
    expect(idPrefix("orderItem", ["tsk", "usr"])).toBe("ord");
    expect(idPrefix("notebook", ["not"])).toBe("noe");
  });
});

/** A copy of what the generator and the checks read; node_modules linked, entry by entry. */
function copyRepo(): string {
  const copy = mkdtempSync(path.join(tmpdir(), "slipway-new-module-"));
  for (const file of [
    ".gitignore",
    "package.json",
    "tsconfig.base.json",
    "biome.json",
    "redocly.yaml",
    "vitest.config.ts",
  ]) {
    cpSync(path.join(repoRoot, file), path.join(copy, file));
  }
  for (const dir of ["migrations", "scripts"]) {
    cpSync(path.join(repoRoot, dir), path.join(copy, dir), { recursive: true });
  }
  const packages: Record<string, string[]> = {
    core: ["src", "test", "drizzle.config.ts", "package.json", "tsconfig.json"],
    "openapi-client": ["src", "package.json", "tsconfig.json"],
    // Not e2e/: it imports none of the app's code, and tsc is the dearest step here.
    web: [
      "src",
      "index.html",
      "package.json",
      "tsconfig.json",
      "vite.config.ts",
      "security-headers.ts",
    ],
  };
  for (const [name, entries] of Object.entries(packages)) {
    for (const entry of entries) {
      cpSync(
        path.join(repoRoot, "packages", name, entry),
        path.join(copy, "packages", name, entry),
        {
          recursive: true,
        },
      );
    }
    const own = path.join(repoRoot, "packages", name, "node_modules");
    if (existsSync(own)) symlinkSync(own, path.join(copy, "packages", name, "node_modules"));
  }
  // Each installed package linked, but the workspace's own: those point into the copy, or the
  // generator would write the real repository's OpenAPI client.
  const modules = path.join(copy, "node_modules");
  mkdirSync(path.join(modules, "@slipway"), { recursive: true });
  for (const entry of readdirSync(path.join(repoRoot, "node_modules"))) {
    if (entry !== "@slipway") {
      symlinkSync(path.join(repoRoot, "node_modules", entry), path.join(modules, entry));
    }
  }
  for (const name of Object.keys(packages)) {
    symlinkSync(`../../packages/${name}`, path.join(modules, "@slipway", name));
  }
  return copy;
}

/** Runs a command to its end; its output, and the exit code. */
function exec(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on("exit", (code) => resolve({ code, output }));
  });
}

// Offline and on PGlite whatever this run uses: the copy's migration must never reach the
// shared TEST_DATABASE_URL (its journal would then hold a migration the repository lacks).
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([key]) =>
      !key.startsWith("VITEST") &&
      // The tests' cheap password hashing: the copy's own vitest sets it; its CLIs refuse it.
      key !== "SLIPWAY_TEST_ARGON2" &&
      key !== "TEST_DATABASE_URL" &&
      key !== "NODE_OPTIONS",
  ),
);
env.DATABASE_URL = "";

describe("npm run new:module, refusing", () => {
  let copy = "";
  beforeAll(() => {
    copy = copyRepo();
  });
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  it("refuses a name whose URL is taken, and a registry without its anchor, writing nothing", async () => {
    await expect(generateModule(copy, "doc")).rejects.toThrow(
      /"doc" would be served at \/api\/docs, which is taken/,
    );
    const src = path.join(copy, "packages/core/src");
    const api = readFileSync(path.join(src, "api.ts"), "utf8");
    const id = readFileSync(path.join(src, "id.ts"), "utf8");
    const tasks = readFileSync(path.join(src, "tasks.ts"), "utf8");
    const appFile = path.join(copy, "packages/web/src/app.tsx");
    const app = readFileSync(appFile, "utf8");
    writeFileSync(path.join(src, "tasks.ts"), "export const tasks = [];\n");
    const refused = generateModule(copy, "gadget", { withPage: true });
    await expect(refused).rejects.toThrow(AnchorError);
    await expect(refused).rejects.toThrow(/^tasks\.ts: cannot find its imports/);
    expect(existsSync(path.join(src, "gadget"))).toBe(false);
    expect(existsSync(path.join(copy, "packages/web/src/pages/gadget.tsx"))).toBe(false);
    expect(readFileSync(path.join(src, "api.ts"), "utf8")).toBe(api);
    expect(readFileSync(path.join(src, "id.ts"), "utf8")).toBe(id);
    expect(readFileSync(appFile, "utf8")).toBe(app);
    writeFileSync(path.join(src, "tasks.ts"), tasks);
  });

  it("--with-page: refuses a name whose page file or path is taken, and an app.tsx without its Suspense, writing nothing", async () => {
    const src = path.join(copy, "packages/core/src");
    const appFile = path.join(copy, "packages/web/src/app.tsx");
    const app = readFileSync(appFile, "utf8");
    const page = path.join(copy, "packages/web/src/pages/widget.tsx");
    writeFileSync(page, "export {};\n");
    await expect(generateModule(copy, "widget", { withPage: true })).rejects.toThrow(
      /"widget" clashes with packages\/web\/src\/pages\/widget\.tsx, which exists/,
    );
    rmSync(page);
    writeFileSync(appFile, app.replace("</Switch>", '<Route path="/widgets" />\n</Switch>'));
    await expect(generateModule(copy, "widget", { withPage: true })).rejects.toThrow(
      /"widget" would have its page at \/widgets, which packages\/web\/src\/app\.tsx routes already/,
    );
    const unwrapped = app.replace(/<Suspense[^>]*>|<\/Suspense>/g, "");
    writeFileSync(appFile, unwrapped);
    const refused = generateModule(copy, "widget", { withPage: true });
    await expect(refused).rejects.toThrow(AnchorError);
    await expect(refused).rejects.toThrow(
      /app\.tsx: cannot find the `<Suspense>` around the routes/,
    );
    expect(readFileSync(appFile, "utf8")).toBe(unwrapped);
    for (const file of ["packages/web/src/widget.test.tsx", "packages/web/src/pages/widget.tsx"]) {
      expect(existsSync(path.join(copy, file)), file).toBe(false);
    }
    expect(existsSync(path.join(src, "widget"))).toBe(false);
    writeFileSync(appFile, app);
  });

  it("a step that fails after writing (drizzle-kit, the client's types) puts everything back", async () => {
    const fresh = copyRepo();
    try {
      const pkg = path.join(fresh, "package.json");
      const manifest = JSON.parse(readFileSync(pkg, "utf8")) as { scripts: Record<string, string> };
      manifest.scripts["db:generate"] = "node -e 'process.exit(4)'";
      writeFileSync(pkg, JSON.stringify(manifest));
      // Fails at once too, instead of importing the app (seconds): only the rollback is tested.
      writeFileSync(path.join(fresh, "scripts/openapi-client.ts"), "process.exit(5);\n");
      const tree = () =>
        [
          "packages/core/src",
          "migrations",
          "packages/openapi-client/src",
          "packages/web/src",
        ].flatMap((dir) =>
          readdirSync(path.join(fresh, dir), { recursive: true, encoding: "utf8" })
            .sort()
            .map((file) => {
              const full = path.join(fresh, dir, file);
              return `${dir}/${file}:${statSync(full).isFile() ? readFileSync(full, "utf8") : ""}`;
            }),
        );
      const before = tree();
      await expect(generateModule(fresh, "gizmo", { withPage: true })).rejects.toThrow(
        /drizzle-kit generate \(npm run db:generate\) failed[\s\S]*Nothing was kept: the module's folder, its web pages and app\.tsx/,
      );
      expect(tree()).toEqual(before);
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  }, 90_000);
});

// Heavy (~70 s of CPU: drizzle-kit, tsc twice, a nested vitest run), so not in every `npm test`:
// NEW_MODULE_TEST=1 runs it (.ci/run does, in its PGlite run).
describe.runIf(process.env.NEW_MODULE_TEST === "1")("npm run new:module", () => {
  let copy = "";
  beforeAll(() => {
    copy = copyRepo();
  });
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  it("writes a module and its web pages that pass their tests, the registries test, tsc, Biome and the lints, its migration applied", async () => {
    const started = performance.now();
    const cli = ["--import", "tsx", "scripts/new-module.ts", "stock-item", "--with-page"];
    const generated = await exec(process.execPath, cli, copy, env);
    expect(generated.output).toContain(
      "Module stock-item written (ids sto_…, served at /api/stock-items, its pages at /stock-items)",
    );
    expect(generated.code).toBe(0);
    const folder = path.join(copy, "packages/core/src/stock-item");
    expect(readdirSync(folder).sort()).toEqual(
      [
        "index.ts",
        "stock-item.error.test.ts",
        "stock-item.happy.test.ts",
        "stock-item.routes.ts",
        "stock-item.schedules.ts",
        "stock-item.security.test.ts",
        "stock-item.sql.ts",
        "stock-item.tasks.ts",
        "stock-item.ts",
      ].sort(),
    );
    const migration = readdirSync(path.join(copy, "migrations")).find((f) =>
      f.endsWith("_add_stock_item.sql"),
    );
    expect(readFileSync(path.join(copy, "migrations", migration ?? "none"), "utf8")).toContain(
      'CREATE TABLE "stock_item"',
    );

    const webFiles = ["pages/stock-item.tsx", "stock-item.test.tsx"].map(
      (file) => `packages/web/src/${file}`,
    );
    for (const file of webFiles) expect(existsSync(path.join(copy, file)), file).toBe(true);
    const appFile = path.join(copy, "packages/web/src/app.tsx");
    const app = readFileSync(appFile, "utf8");
    expect(app).toContain('<Link href="/stock-items">Stock items</Link>');

    // Run again: refused by name, exit code 1, and nothing touched.
    const again = await exec(process.execPath, cli, copy, env);
    expect(again.output).toMatch(/"stock-item" clashes with packages\/core\/src\/stock-item/);
    expect(again.code).toBe(1);
    expect(readFileSync(appFile, "utf8")).toBe(app);

    const registries = [
      "api.ts",
      "tasks.ts",
      "schedules.ts",
      "tables.ts",
      "id.ts",
      "observability/metric-catalog.ts",
    ];
    const bin = (name: string) => path.join(copy, "node_modules/.bin", name);
    const [tsc, tscWeb, biome, tests] = await Promise.all([
      exec(bin("tsc"), ["-p", "packages/core"], copy, env),
      exec(bin("tsc"), ["-p", "packages/web"], copy, env),
      exec(
        bin("biome"),
        [
          "check",
          "packages/core/src/stock-item",
          ...registries.map((f) => `packages/core/src/${f}`),
          ...webFiles,
          "packages/web/src/app.tsx",
        ],
        copy,
        env,
      ),
      // The module's own tests (on a database migrated with the new migration), its page's test
      // (`src/stock-item` matches packages/web/src/stock-item.test.tsx too), and the check that
      // its handlers, task contracts, schedule and columns are all registered and migrated.
      exec(
        bin("vitest"),
        [
          "run",
          "--project",
          "core",
          "--project",
          "web",
          "src/stock-item",
          "src/registries.test.ts",
          "src/schedules.test.ts",
          "src/openapi",
          // Beside two tsc runs and Biome on a small machine, a file's first test (its imports,
          // a database, the app booted) can pass the projects' 20 s.
          "--testTimeout",
          "60000",
        ],
        copy,
        env,
      ),
    ]);
    // The rest of `npm run lint`: table ownership, and Redocly on the OpenAPI document.
    const lint = await exec(
      "sh",
      [
        "-c",
        // Through a file: both scripts end with process.exit, which can cut a pipe's last lines.
        "{ node --import tsx scripts/lint/table-writes.ts && node --import tsx scripts/lint/openapi.ts; } > lint.log 2>&1; code=$?; cat lint.log; exit $code",
      ],
      copy,
      env,
    );
    expect(lint.code, lint.output).toBe(0);
    expect(tsc.output).toBe("");
    expect(tsc.code, tsc.output).toBe(0);
    expect(tscWeb.output).toBe("");
    expect(tscWeb.code, tscWeb.output).toBe(0);
    expect(biome.code, biome.output).toBe(0);
    expect(tests.output).toContain("stock-item.security.test.ts");
    expect(tests.output).toContain("stock-item.test.tsx");
    expect(tests.code, tests.output).toBe(0);

    // The site's build (a second or two): the pages are a chunk of their own, loaded on first
    // visit, not in the JavaScript index.html loads.
    const out = path.join(copy, "site");
    const build = await exec(
      process.execPath,
      [
        path.join(copy, "node_modules/vite/bin/vite.js"),
        "build",
        "--outDir",
        out,
        "--logLevel",
        "warn",
      ],
      path.join(copy, "packages/web"),
      { ...env, NODE_ENV: "production" },
    );
    expect(build.code, build.output).toBe(0);
    const scripts = readdirSync(path.join(out, "assets")).filter((file) => file.endsWith(".js"));
    const initial = [
      ...readFileSync(path.join(out, "index.html"), "utf8").matchAll(
        /src="\/assets\/([^"]+\.js)"/g,
      ),
    ].map((m) => m[1]);
    const page = scripts.filter((file) =>
      readFileSync(path.join(out, "assets", file), "utf8").includes("Your stock items"),
    );
    expect(initial).toHaveLength(1);
    expect(page).toEqual([expect.stringMatching(/^stock-item-.*\.js$/)]);
    expect(initial).not.toContain(page[0]);
    process.stderr.write(
      `new:module test: generated and checked in ${Math.round(performance.now() - started)} ms\n`,
    );
  }, 480_000);
});
