import { pgliteTemplate } from "../src/db/pglite-template";

// Run by global-setup.ts: reads and checks the templates the tests start from (slim) and those
// they are made from, building what is missing or corrupt.
const migrationsDir = process.argv[2];
await pgliteTemplate({ slim: true });
await pgliteTemplate({ migrationsDir, slim: true });
