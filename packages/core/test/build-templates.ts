import { pgliteTemplate } from "../src/db/pglite-template";

// Run by global-setup.ts: reads and checks both templates, building what is missing or corrupt.
await pgliteTemplate({});
await pgliteTemplate({ migrationsDir: process.argv[2] });
