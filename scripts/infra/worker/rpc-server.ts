import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { buildFunction, type FunctionBuild } from "./build-function";
import type { WorkerContext } from "./input";

/**
 * A loopback stand-in for the JSON-RPC server the SST CLI runs during a deploy: SST's components
 * call it at `SST_SERVER` (`Provider.Aws.Bootstrap` for the asset bucket, `Runtime.Build` for each
 * function, in `sst dev` `Runtime.AddTarget`). Answers with mock AWS names; builds for real.
 */
export interface RpcServer {
  /** For `SST_SERVER`. */
  url: string;
  /**
   * The links each function is built with, by component name. The CLI encrypts them into the
   * bundle (`resource.enc`), so they appear in no resource's inputs.
   */
  functionLinks: Record<string, string[]>;
  close(): void;
}

export async function startRpcServer(context: WorkerContext): Promise<RpcServer> {
  const functionLinks: Record<string, string[]> = {};
  const recordLinks = (input: { functionID: string; links?: Record<string, unknown> }) => {
    functionLinks[input.functionID] = Object.keys(input.links ?? {}).sort();
  };

  const methods: Record<string, (args: never) => unknown> = {
    "Provider.Aws.Bootstrap": () => ({
      asset: "sst-asset-mock",
      assetEcrRegistryId: "123456789012",
      assetEcrUrl: "123456789012.dkr.ecr.us-east-1.amazonaws.com/sst-asset-mock",
      state: "sst-state-mock",
      appsyncHttp: "mock.appsync-api.us-east-1.amazonaws.com",
      appsyncRealtime: "mock.appsync-realtime-api.us-east-1.amazonaws.com",
    }),
    "Provider.Aws.Appsync": () => ({ http: "", realtime: "" }),
    "Runtime.Build": (input: FunctionBuild) => {
      recordLinks(input);
      return buildFunction(context, input);
    },
    // `sst dev`: the function runs locally, with the same links.
    "Runtime.AddTarget": (input: { functionID: string; links?: Record<string, unknown> }) => {
      recordLinks(input);
      return {};
    },
  };

  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", async () => {
      const { method, params } = JSON.parse(body) as { method: string; params: unknown[] };
      const handler = methods[method];
      const reply = handler
        ? await Promise.resolve(handler(params[0] as never)).then(
            (result) => ({ result }),
            (error: unknown) => ({ error: String(error) }),
          )
        : { error: `rpc: can't find method ${method}` };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(reply));
    });
  });
  server.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    functionLinks,
    close: () => server.close(),
  };
}
