// `npm run build:server`: the API container's bundle (packages/core/Dockerfile copies dist/).
// esbuild with code splitting: server.mjs plus chunks beside it, so what only some requests or
// settings need (the AWS SDK, Sentry, file-type, the presigners, the OpenAPI generator's
// converters) is read when first used, not at every boot (docs/decisions/022). Minified; stack
// traces keep the sources' file, line and function names through the source map (the
// Dockerfile's `node --enable-source-maps`), which holds no sources, as node needs only its
// mappings and names and reads it at boot. Not keepNames: it wraps every function made at run
// time in a call that sets its name, Hono's per-request Context fields included (~3% of a note
// read's CPU, profiled), and names in traces come from the map anyway.
// Options: --outfile=<dir>/<name>.mjs (the last one given wins; default dist/server.mjs), where
// the entry goes and its chunks beside it, named <name>-*; --metafile=<file> to write esbuild's.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
const option = (name, fallback) =>
  process.argv
    .filter((arg) => arg.startsWith(`--${name}=`))
    .map((arg) => arg.slice(name.length + 3))
    .at(-1) ?? fallback;
const unknown = process.argv.slice(2).filter((arg) => !/^--(outfile|metafile)=/.test(arg));
if (unknown.length > 0) throw new Error(`build-server.mjs: unknown arguments ${unknown.join(" ")}`);

const outfile = path.resolve(here, option("outfile", "dist/server.mjs"));
const outdir = path.dirname(outfile);
const name = path.basename(outfile, ".mjs");
// Earlier builds' chunks are left in place: their names hash their contents, so nothing reads
// them, and a server still running from this directory (a bench, a test) keeps finding the
// chunks it loads on first use. The image's build starts from no dist/ (.dockerignore).

/**
 * hono-openapi's JSON Schema converter loads `zod/v4/core` with a dynamic import for one function,
 * toJSONSchema. A dynamic import keeps a module's whole namespace, and zod's core is shared with
 * the schemas every route builds at boot, so all of it (~350 KB minified, locales included) went
 * into a chunk every boot reads. That one importer gets a module exporting only the function.
 */
const zodCoreForOpenApi = {
  name: "zod-core-for-openapi",
  setup(b) {
    b.onResolve({ filter: /^zod\/v4\/core$/ }, (args) =>
      args.importer.includes(`${path.sep}@standard-community${path.sep}standard-json${path.sep}`)
        ? { path: path.join(here, "src/http/zod-to-json-schema.ts") }
        : undefined,
    );
  },
};

const result = await build({
  absWorkingDir: here,
  entryPoints: { [name]: "src/server.ts" },
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  splitting: true,
  outdir,
  chunkNames: `${name}-[name]-[hash]`,
  outExtension: { ".js": ".mjs" },
  minify: true,
  sourcemap: "linked",
  sourcesContent: false,
  // PGlite is offline only (db/client.ts imports it when no DATABASE_URL is set); the Argon2
  // addon cannot be bundled and is copied beside the bundle (Dockerfile).
  external: ["@electric-sql/pglite", "drizzle-orm/pglite", "@node-rs/argon2"],
  // CommonJS dependencies call require(); aliased, as bundled code imports createRequire too.
  banner: {
    js: "import { createRequire as __bannerRequire } from 'node:module'; const require = __bannerRequire(import.meta.url);",
  },
  // The tests' cheap password hashing (account/password.ts) compiled away: never read deployed.
  define: { "process.env.SLIPWAY_TEST_ARGON2": "undefined" },
  plugins: [zodCoreForOpenApi],
  metafile: true,
  logLevel: "warning",
});
const metafile = option("metafile");
if (metafile) writeFileSync(path.resolve(metafile), JSON.stringify(result.metafile));
