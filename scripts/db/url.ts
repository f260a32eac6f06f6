import path from "node:path";

/**
 * Inside `sst shell --stage <stage>` (which puts every link in SST_RESOURCE_<Name>):
 * `node --import tsx scripts/db/url.ts AppDatabase|Database` prints that link's postgres:// URL,
 * TLS verified against .data/rds-ca.pem (written by the recipe's step 1); `... url.ts Migrator`
 * prints the migrator function's name. For `npm run db:recipe`'s commands.
 */

interface DatabaseLinkJson {
  host: string;
  port: number;
  username: string;
  password: string;
  database: string;
}

export function linkURL(link: DatabaseLinkJson, caFile: string): string {
  const url = new URL(`postgres://${link.host}:${link.port}/${encodeURIComponent(link.database)}`);
  url.username = link.username;
  url.password = link.password;
  url.searchParams.set("sslmode", "verify-full");
  url.searchParams.set("sslrootcert", caFile);
  return url.href;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const name = process.argv[2] ?? "";
  const value = process.env[`SST_RESOURCE_${name}`];
  if (!["AppDatabase", "Database", "Migrator"].includes(name) || !value) {
    process.stderr.write(
      "usage (inside npx sst shell --stage <stage> --): node --import tsx scripts/db/url.ts AppDatabase|Database|Migrator\n",
    );
    process.exit(1);
  }
  const link = JSON.parse(value);
  process.stdout.write(
    `${name === "Migrator" ? link.name : linkURL(link, path.resolve(".data/rds-ca.pem"))}\n`,
  );
}
