import { createServer, connect as netConnect, type Server, type Socket } from "node:net";

/**
 * A TCP proxy in front of a database server, to stage its outages in a test without touching the
 * server others share: `refuse()` drops every connection and refuses new ones (a restart as the
 * client sees it), `blackhole()` accepts and answers nothing (a network that drops packets),
 * `restore()` forwards again on the same port.
 */
export async function startTcpProxy(target: { host: string; port: number }) {
  let mode: "forward" | "blackhole" = "forward";
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;

  const onConnection = (client: Socket) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => client.destroy());
    if (mode === "blackhole") return; // accepted, never answered
    const upstream = netConnect(target);
    sockets.add(upstream);
    upstream.on("close", () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on("error", () => upstream.destroy());
    client.on("close", () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer(onConnection);
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        const address = server?.address();
        if (address && typeof address === "object") port = address.port;
        resolve();
      });
    });

  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };

  await listen();
  return {
    get port() {
      return port;
    },
    /** As a server restart looks from the client: connections reset, new ones refused. */
    async refuse() {
      await new Promise<void>((resolve) => {
        dropAll();
        server?.close(() => resolve());
      });
    },
    /** Connections stay open and new ones are accepted, but nothing comes back. */
    blackhole() {
      mode = "blackhole";
      for (const socket of sockets) {
        socket.unpipe();
        socket.pause();
      }
    },
    async restore() {
      dropAll();
      mode = "forward";
      if (!server?.listening) await listen();
    },
    async close() {
      dropAll();
      await new Promise<void>((resolve) =>
        server?.listening ? server.close(() => resolve()) : resolve(),
      );
    },
  };
}
