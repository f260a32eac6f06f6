import path from "node:path";
import { fileURLToPath } from "node:url";
import { AnchorError, generateModule } from "./new-module/generate";
import { NameError } from "./new-module/names";

/**
 * `npm run new:module -- <name>`: writes a complete module into packages/core/src/<name>/ (its
 * table, schemas and functions, routes with their OpenAPI descriptions, an example task and
 * schedule, happy/error/security tests), wires it into api.ts, tasks.ts, schedules.ts,
 * tables.ts and id.ts, and generates its migration. See scripts/new-module/generate.ts and ADR 027.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const flags = args.filter((arg) => arg.startsWith("--"));
const [name = "", ...extra] = args.filter((arg) => !arg.startsWith("--"));
const unknown = flags.filter((flag) => flag !== "--with-page");

try {
  if (extra.length > 0 || unknown.length > 0) {
    throw new NameError(
      `usage: npm run new:module -- <name> (unexpected: ${[...extra, ...unknown].join(" ")})`,
    );
  }
  if (flags.includes("--with-page")) {
    throw new NameError(
      "--with-page is not written yet: the generator makes the API module only (ADR 027)",
    );
  }
  const { names, prefix, created, edited } = await generateModule(root, name);
  process.stdout.write(
    `Module ${names.kebab} written (ids ${prefix}_…, served at /api/${names.plural}):\n` +
      created.map((file) => `  + ${file}\n`).join("") +
      edited.map((file) => `  ~ ${file}\n`).join("") +
      `Next: npm run lint && npm run typecheck && npx vitest run packages/core/src/${names.kebab}\n`,
  );
} catch (error) {
  // A refusal (NameError, AnchorError) or a failed step (which put everything back): its message.
  const refused = error instanceof NameError || error instanceof AnchorError;
  process.stderr.write(`new:module: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(refused ? 1 : 2);
}
