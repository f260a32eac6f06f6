import path from "node:path";
import { fileURLToPath } from "node:url";
import { AnchorError, generateModule } from "./new-module/generate";
import { NameError } from "./new-module/names";

/**
 * `npm run new:module -- <name> [--with-page]`: writes a complete module into
 * packages/core/src/<name>/ (its table, schemas and functions, routes with their OpenAPI
 * descriptions, an example task and schedule, happy/error/security tests), wires it into api.ts,
 * tasks.ts, schedules.ts, tables.ts and id.ts, and generates its migration. `--with-page` adds its list and
 * detail pages to the web app (packages/web/src/pages/<name>.tsx, routed and in the nav, loaded
 * lazily) with their test. See scripts/new-module/generate.ts and ADR 027.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const flags = args.filter((arg) => arg.startsWith("--"));
const [name = "", ...extra] = args.filter((arg) => !arg.startsWith("--"));
const unknown = flags.filter((flag) => flag !== "--with-page");

try {
  if (extra.length > 0 || unknown.length > 0) {
    throw new NameError(
      `usage: npm run new:module -- <name> [--with-page] (unexpected: ${[...extra, ...unknown].join(" ")})`,
    );
  }
  const withPage = flags.includes("--with-page");
  const { names, prefix, created, edited } = await generateModule(root, name, { withPage });
  const tests = [`packages/core/src/${names.kebab}`];
  if (withPage) tests.push(`packages/web/src/${names.kebab}.test.tsx`);
  process.stdout.write(
    `Module ${names.kebab} written (ids ${prefix}_…, served at /api/${names.plural}${withPage ? `, its pages at /${names.plural}` : ""}):\n` +
      created.map((file) => `  + ${file}\n`).join("") +
      edited.map((file) => `  ~ ${file}\n`).join("") +
      `Next: npm run lint && npm run typecheck && npx vitest run ${tests.join(" ")}\n`,
  );
} catch (error) {
  // A refusal (NameError, AnchorError) or a failed step (which put everything back): its message.
  const refused = error instanceof NameError || error instanceof AnchorError;
  process.stderr.write(`new:module: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(refused ? 1 : 2);
}
