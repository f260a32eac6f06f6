import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "../../../scripts/net";

/**
 * A throwaway Redis (Debian's `redis-server`, which speaks the protocol Valkey does) on a free
 * loopback port with a temp dir and no persistence, like scripts/throwaway-postgres.sh does for
 * Postgres. `stop()` kills it and deletes the dir. CI installs the package (.ci/run).
 *
 * `{ cluster: true }` starts it as ElastiCache Serverless presents itself: cluster mode with every
 * slot on one node that announces a host name, TLS only (a self-signed certificate for
 * `localhost`, made with openssl; `ca` is its PEM for the client).
 */
export interface ThrowawayValkey {
  url: string;
  host: string;
  port: number;
  /** The server's process id (bench/cache.ts reads its CPU time). */
  pid: number;
  /** With `cluster`: the certificate the client must trust. */
  ca?: string;
  stop(): Promise<void>;
}

export async function startValkey({ cluster = false } = {}): Promise<ThrowawayValkey> {
  const dir = mkdtempSync(path.join(tmpdir(), "slipway-valkey-"));
  const port = await freePort();
  const common = ["--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"];
  let ca: string | undefined;
  let args = ["--port", String(port), ...common];
  if (cluster) {
    const [cert, key] = [path.join(dir, "cert.pem"), path.join(dir, "key.pem")];
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
      ].concat(["-addext", "subjectAltName=DNS:localhost", "-keyout", key, "-out", cert]),
      { stdio: "ignore" },
    );
    ca = readFileSync(cert, "utf8");
    args = [
      ...["--port", "0", "--tls-port", String(port), "--tls-cluster", "yes"],
      ...["--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", cert],
      ...["--tls-auth-clients", "no"],
      ...["--cluster-enabled", "yes", "--cluster-config-file", path.join(dir, "nodes.conf")],
      ...["--cluster-announce-hostname", "localhost"],
      ...["--cluster-preferred-endpoint-type", "hostname"],
      ...common,
    ];
  }
  const server = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));
  let output = "";
  const ready = new Promise<void>((resolve, reject) => {
    server.once("error", (error) =>
      reject(
        new Error(`redis-server did not start (install Debian's redis-server): ${error.message}`),
      ),
    );
    server.once("exit", (code) => reject(new Error(`redis-server exited (${code}): ${output}`)));
    server.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Ready to accept connections")) resolve();
    });
  });
  // A server that never came up leaves no directory behind.
  await ready.catch((error) => {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  const stop = async () => {
    server.kill("SIGKILL");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  if (cluster) {
    // One node owning every slot, as a serverless cache shows itself; then wait for state ok.
    const cli = (...command: string[]) =>
      execFileSync(
        "redis-cli",
        [
          "--tls",
          "--cacert",
          path.join(dir, "cert.pem"),
          "-h",
          "localhost",
          "-p",
          String(port),
        ].concat(command),
        { encoding: "utf8" },
      );
    try {
      cli("cluster", "addslotsrange", "0", "16383");
      const deadline = Date.now() + 10_000;
      while (!cli("cluster", "info").includes("cluster_state:ok")) {
        if (Date.now() > deadline) throw new Error("the throwaway cluster never became ok");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } catch (error) {
      await stop();
      throw error;
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    host: cluster ? "localhost" : "127.0.0.1",
    port,
    pid: server.pid ?? 0,
    ...(ca ? { ca } : {}),
    stop,
  };
}
