import { randomBytes, scryptSync } from "node:crypto";
import { ARGON2, createPasswordHasher } from "../packages/core/src/account/password";

/**
 * `npm run bench -- password`: the CPU one login's password check costs, before and after the
 * move to Argon2id, side by side in one process:
 *   scrypt    the hashes stored before (N=2^15, r=8, p=3), as verifyPassword still checks them
 *   argon2id  what hashPassword makes now (m=19 MiB, t=2, p=1)
 * CPU is process.cpuUsage() (user + system, every thread: the hash runs on libuv's pool) around
 * RUNS (20) sequential verifies, after one warm-up; wall time beside it. "Logins/s at 0.25 vCPU"
 * is what a quarter core affords if hashing were all it did.
 */

const runs = Number(process.env.RUNS ?? 20);
const password = "correct horse battery staple";
const hasher = createPasswordHasher({ concurrency: 1, queue: 0 });

// The format the old hashPassword wrote (its code is gone; verifyPassword still reads it).
function legacyScrypt(secret: string) {
  const salt = randomBytes(16);
  const key = scryptSync(secret.normalize("NFKC"), salt, 64, {
    N: 2 ** 15,
    r: 8,
    p: 3,
    maxmem: 64 * 1024 * 1024,
  });
  return ["scrypt", 2 ** 15, 8, 3, salt.toString("base64url"), key.toString("base64url")].join("$");
}

async function measure(stored: string) {
  if (!(await hasher.verifyPassword(password, stored))) throw new Error(`no match: ${stored}`);
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < runs; i++) await hasher.verifyPassword(password, stored);
  const wall = (performance.now() - started) / runs;
  const used = process.cpuUsage(cpu);
  return { cpu: (used.user + used.system) / 1000 / runs, wall };
}

const scrypt = await measure(legacyScrypt(password));
const argon2id = await measure(await hasher.hashPassword(password));
const row = (name: string, m: { cpu: number; wall: number }) =>
  `| ${name} | ${m.cpu.toFixed(1)} ms | ${m.wall.toFixed(1)} ms | ${(250 / m.cpu).toFixed(1)} |`;

process.stdout.write(
  `password check per login, mean of ${runs} verifies (node ${process.version}, ${process.arch}):\n\n` +
    "| hash | CPU per login | wall per login | logins/s at 0.25 vCPU |\n|---|---:|---:|---:|\n" +
    `${row("scrypt N=2^15, r=8, p=3 (before)", scrypt)}\n` +
    `${row(`argon2id m=${ARGON2.memoryCost / 1024} MiB, t=${ARGON2.timeCost}, p=${ARGON2.parallelism} (now)`, argon2id)}\n\n` +
    `CPU ratio scrypt / argon2id: ${(scrypt.cpu / argon2id.cpu).toFixed(1)}x\n`,
);
