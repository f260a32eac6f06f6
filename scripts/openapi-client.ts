import { writeFileSync } from "node:fs";
import { generateTypes, schemaFile } from "@slipway/openapi-client/generate";
import { liveDocument } from "./lint/openapi";

/**
 * Regenerates packages/openapi-client/src/schema.ts from the live OpenAPI document (offline, as
 * `npm run lint` gets it). Run after changing a route's contract; openapi-client.test.ts fails
 * while the committed file differs from what this writes.
 */
writeFileSync(schemaFile, await generateTypes(await liveDocument()));
process.stdout.write(`wrote ${schemaFile}\n`);
// The app's modules keep handles (the database client, timers) this has no use for.
process.exit(0);
