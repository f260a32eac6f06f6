// The container-ready bench's baseline (bench/container-ready.ts): the least a process can do to
// answer what /api/health/ready answers. node:http and postgres.js, bundled like the API; the
// same statements in one transaction (select 1; is the migrations table there; its rows), the
// migrations folder read and hashed as drizzle's readMigrationFiles does, the same JSON.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import path from "node:path";
import postgres from "postgres";

const dir = process.env.MIGRATIONS_DIR;
const sql = postgres(process.env.DATABASE_URL, { max: 10, onnotice: () => {} });
const secret = process.env.ORIGIN_SECRET;

function migrations() {
  const journal = JSON.parse(readFileSync(path.join(dir, "meta", "_journal.json"), "utf8"));
  return journal.entries.map((entry) => {
    const text = readFileSync(path.join(dir, `${entry.tag}.sql`), "utf8");
    return { createdAt: entry.when, hash: createHash("sha256").update(text).digest("hex") };
  });
}

createServer(async (req, res) => {
  if (req.url !== "/api/health/ready" || req.headers["x-slipway-origin-secret"] !== secret) {
    res.writeHead(404).end();
    return;
  }
  const files = migrations();
  const rows = await sql.begin(async (tx) => {
    await tx`select 1`;
    const [table] = await tx`select to_regclass('drizzle.__drizzle_migrations')::text as name`;
    return table?.name ? tx`select hash, created_at from drizzle.__drizzle_migrations` : [];
  });
  const applied = new Set(rows.map((row) => Number(row.created_at)));
  const pending = files.filter((file) => !applied.has(file.createdAt));
  const body = JSON.stringify(
    pending.length === 0
      ? { status: "ready", migrations: { applied: files.length } }
      : { error: { code: "not_ready", message: "migrations pending" } },
  );
  res.writeHead(pending.length === 0 ? 200 : 503, { "content-type": "application/json" }).end(body);
}).listen(Number(process.env.PORT), "0.0.0.0", () => {
  process.stdout.write(`${JSON.stringify({ msg: "listening" })}\n`);
});
