import { execFile } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "../../../scripts/net";

const run = promisify(execFile);

/** Postgres's server binaries (Debian keeps them off the PATH), as scripts/throwaway-postgres.sh finds them. */
function findBindir(): string | undefined {
  const debian = "/usr/lib/postgresql";
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((version) => existsSync(path.join(debian, version, "bin", "initdb")))
      .sort((a, b) => Number(a) - Number(b));
    const latest = versions.at(-1);
    if (latest) return path.join(debian, latest, "bin");
  }
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, "initdb"))) return dir;
  }
  return undefined;
}

export const postgresBindir = findBindir();

const asRoot = process.getuid?.() === 0;
/** Postgres refuses to run as root: as root, its commands run as the `postgres` user. */
const asOwner = (command: string, args: string[]) =>
  asRoot ? run("runuser", ["-u", "postgres", "--", command, ...args]) : run(command, args);

export interface TlsPostgres {
  port: number;
  /** PEM file of the certificate authority that signed the server's certificate. */
  caFile: string;
  /** A URL to 127.0.0.1 (the name the certificate carries) as `user`. */
  url(user: string, password: string, database?: string): string;
  superuser: { user: string; password: string };
  stop(): Promise<void>;
}

/**
 * A throwaway Postgres that speaks only TLS over TCP: `ssl=on` with a server certificate for
 * 127.0.0.1 signed by a CA made here, and a pg_hba.conf with `hostssl` lines only (scram
 * passwords), so a plain-text connection is refused as RDS with `rds.force_ssl=1` refuses it.
 * About 1-2 s (initdb). Needs Postgres's binaries (`postgresBindir`) and openssl.
 */
export async function startTlsPostgres(): Promise<TlsPostgres> {
  const bindir = postgresBindir;
  if (!bindir) throw new Error("no Postgres binaries (initdb) on this machine");
  const dir = mkdtempSync(path.join(tmpdir(), "slipway-pg-tls-"));
  try {
    return await startIn(bindir, dir);
  } catch (error) {
    // Half started: nothing left running or on disk.
    const pgCtl = path.join(bindir, "pg_ctl");
    await asOwner(pgCtl, ["-D", path.join(dir, "data"), "-m", "immediate", "stop"]).catch(() => {});
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function startIn(bindir: string, dir: string): Promise<TlsPostgres> {
  const file = (name: string) => path.join(dir, name);
  const owned = (name: string, mode: number) => {
    chmodSync(file(name), mode);
    if (asRoot) chownSync(file(name), postgresUid(), -1);
  };
  chmodSync(dir, 0o755);
  if (asRoot) chownSync(dir, postgresUid(), -1);

  // A CA and a server certificate for 127.0.0.1 (an IP SAN: Node checks the address connected to).
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await run("openssl", [
    "req",
    "-x509",
    ...ec,
    ...["-keyout", file("ca.key"), "-out", file("ca.crt"), "-days", "2"],
    ...["-subj", "/CN=Slipway test CA", "-addext", "basicConstraints=critical,CA:TRUE"],
    ...["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
  ]);
  await run("openssl", [
    "req",
    ...ec,
    ...["-keyout", file("server.key"), "-out", file("server.csr"), "-subj", "/CN=127.0.0.1"],
  ]);
  writeFileSync(
    file("server.ext"),
    "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
  );
  await run("openssl", [
    "x509",
    "-req",
    ...["-in", file("server.csr"), "-CA", file("ca.crt"), "-CAkey", file("ca.key")],
    ...["-set_serial", "1", "-days", "2", "-out", file("server.crt")],
    ...["-extfile", file("server.ext")],
  ]);
  // Postgres refuses a key others can read.
  owned("server.key", 0o600);
  owned("server.crt", 0o644);

  const superuser = { user: "postgres", password: `pw-${process.pid}-${Date.now()}` };
  writeFileSync(file("pwfile"), `${superuser.password}\n`);
  owned("pwfile", 0o600);
  await asOwner(path.join(bindir, "initdb"), [
    ...["-D", file("data"), "-U", superuser.user, "-E", "UTF8"],
    ...["--pwfile", file("pwfile"), "--auth-local=trust", "--auth-host=scram-sha-256"],
    // A throwaway: no fsync of the new files (6 s to 1.2 s here).
    "--no-sync",
  ]);
  // TCP only over TLS: no `host` line, so a plain connection finds no entry.
  writeFileSync(
    path.join(dir, "data", "pg_hba.conf"),
    "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n",
  );
  const port = await freePort();
  const options = [
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
    `-c ssl=on -c ssl_cert_file=${file("server.crt")} -c ssl_key_file=${file("server.key")}`,
  ].join(" ");
  const pgCtl = path.join(bindir, "pg_ctl");
  await asOwner(pgCtl, ["-D", file("data"), "-l", file("log"), "-w", "-o", options, "start"]);

  const url = (user: string, password: string, database = "postgres") => {
    const result = new URL(`postgres://127.0.0.1:${port}/${database}`);
    result.username = user;
    result.password = password;
    return result.toString();
  };
  return {
    port,
    caFile: file("ca.crt"),
    url,
    superuser,
    stop: async () => {
      await asOwner(pgCtl, ["-D", file("data"), "-m", "immediate", "stop"]).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

let uid: number | undefined;
function postgresUid(): number {
  if (uid === undefined) {
    const line = readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .find((entry) => entry.startsWith("postgres:"));
    uid = Number(line?.split(":")[2]);
    if (!Number.isInteger(uid)) throw new Error("running as root, but there is no postgres user");
  }
  return uid;
}
