import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { pathToFileURL } from "node:url";
import * as esbuild from "esbuild";

/**
 * Runs `sst.config.ts` the way the SST CLI does (pkg/project/run.go + pkg/js/js.go in the SST
 * repository), but with Pulumi's mock runtime instead of a deployment engine:
 *  1. `app({ stage })` gives `$app`;
 *  2. esbuild bundles the config with `$app`/`$cli`/`$dev` defined, SST's shim injected
 *     (`$output`, `$interpolate`, `$transform`, …) and the `sst`/`aws` namespaces imported, with
 *     `@pulumi/*` left external so the bundle and this worker share one Pulumi runtime;
 *  3. SST's `auto/run.ts` runs the config inside `runInPulumiStack`, under `setMocks`.
 * The CLI's JSON-RPC server is stood in for by a loopback one: `Runtime.Build` really bundles each
 * function's handler with esbuild, so a broken handler path fails the evaluation.
 * Input: argv[2] = JSON options. Output: one JSON line (`{ resources, outputs, app,
 * functionLinks }`) on fd 3.
 */

interface Options {
  root: string;
  config: string;
  stage: string;
  dev: boolean;
  secrets: Record<string, string>;
}

export interface EvaluatedResource {
  type: string;
  name: string;
  custom: boolean;
  parent?: string;
  dependsOn: string[];
  inputs: Record<string, unknown>;
}

const options = JSON.parse(process.argv[2] ?? "{}") as Options;
const platform = path.join(options.root, ".sst", "platform");
// Per process: evaluations of the same stage may run side by side.
const work = path.join(
  options.root,
  ".sst",
  "eval",
  `${options.stage}${options.dev ? "-dev" : ""}-${process.pid}`,
);
mkdirSync(work, { recursive: true });

for (const [name, value] of Object.entries(options.secrets))
  process.env[`SST_SECRET_${name}`] = value;

// --- the CLI's JSON-RPC server ---------------------------------------------------------------

/**
 * The links each function is built with, by component name. The CLI encrypts them into the
 * bundle (`resource.enc`), so they appear in no resource's inputs.
 */
const functionLinks: Record<string, string[]> = {};

function recordLinks(input: { functionID: string; links?: Record<string, unknown> }) {
  functionLinks[input.functionID] = Object.keys(input.links ?? {}).sort();
}

async function buildFunction(input: {
  functionID: string;
  handler: string;
  links?: Record<string, unknown>;
  copyFiles?: { from: string; to?: string }[];
  properties?: { architecture?: string; format?: string };
}) {
  recordLinks(input);
  const out = path.join(work, "artifacts", input.functionID);
  const dot = input.handler.lastIndexOf(".");
  const file = input.handler.slice(0, dot);
  const exported = input.handler.slice(dot + 1);
  const candidates = [".ts", ".mts", ".js", ".mjs"].map((ext) =>
    path.resolve(options.root, file + ext),
  );
  const result = await esbuild
    .build({
      entryPoints: candidates.filter((candidate) => existsSync(candidate)).slice(0, 1),
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node22",
      outfile: path.join(out, `${path.basename(file)}.mjs`),
      banner: {
        js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
      logLevel: "silent",
    })
    .catch((error: { errors?: { text: string }[] }) => ({
      errors: error.errors ?? [{ text: String(error) }],
    }));
  const errors = result.errors.map((error) => error.text);
  if (candidates.every((candidate) => !existsSync(candidate))) {
    errors.push(`handler file not found: ${file}.{ts,js}`);
  }
  for (const copy of input.copyFiles ?? []) {
    cpSync(
      path.resolve(options.root, copy.from),
      path.join(out, copy.to ?? path.basename(copy.from)),
      {
        recursive: true,
      },
    );
  }
  return { handler: `${path.basename(file)}.${exported}`, out, errors, sourcemaps: [] };
}

const rpcMethods: Record<string, (args: never) => unknown> = {
  "Provider.Aws.Bootstrap": () => ({
    asset: "sst-asset-mock",
    assetEcrRegistryId: "123456789012",
    assetEcrUrl: "123456789012.dkr.ecr.us-east-1.amazonaws.com/sst-asset-mock",
    state: "sst-state-mock",
    appsyncHttp: "mock.appsync-api.us-east-1.amazonaws.com",
    appsyncRealtime: "mock.appsync-realtime-api.us-east-1.amazonaws.com",
  }),
  "Provider.Aws.Appsync": () => ({ http: "", realtime: "" }),
  "Runtime.Build": buildFunction,
  // `sst dev`: the function runs locally, with the same links.
  "Runtime.AddTarget": (input: { functionID: string; links?: Record<string, unknown> }) => {
    recordLinks(input);
    return {};
  },
};

const rpc = createServer((req, res) => {
  let body = "";
  req.on("data", (chunk) => {
    body += chunk;
  });
  req.on("end", async () => {
    const { method, params } = JSON.parse(body) as { method: string; params: unknown[] };
    const handler = rpcMethods[method];
    const reply = handler
      ? await Promise.resolve(handler(params[0] as never)).then(
          (result) => ({ result }),
          (error: unknown) => ({ error: String(error) }),
        )
      : { error: `rpc: can't find method ${method}` };
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(reply));
  });
});
rpc.listen(0, "127.0.0.1");
await new Promise((resolve) => rpc.once("listening", resolve));
process.env.SST_SERVER = `http://127.0.0.1:${(rpc.address() as AddressInfo).port}`;

// --- $app from the config's app() --------------------------------------------------------------

const appBundle = path.join(work, "app.mjs");
// app() runs before any global exists, as in the CLI; $config is the identity.
await esbuild.build({
  entryPoints: [path.join(options.root, options.config)],
  bundle: true,
  platform: "node",
  format: "esm",
  outfile: appBundle,
  packages: "external",
  logLevel: "silent",
});
(globalThis as { $config?: unknown }).$config = (config: unknown) => config;
const appConfig = (
  (await import(pathToFileURL(appBundle).href)) as {
    default: { app(input: { stage: string }): Record<string, unknown> };
  }
).default.app({ stage: options.stage });
const app = {
  removal: "retain",
  protect: false,
  providers: {},
  ...appConfig,
  name: appConfig.name,
  stage: options.stage,
  home: appConfig.home ?? "aws",
};
const cli = {
  command: options.dev ? "dev" : "deploy",
  dev: options.dev,
  paths: {
    home: path.join(work, "home"),
    root: options.root,
    work: path.join(options.root, ".sst"),
    platform,
  },
  state: { version: {} },
};

// --- the program bundle, as the CLI builds it ---------------------------------------------------

const programFile = path.join(
  platform,
  `eval.${options.stage}${options.dev ? ".dev" : ""}.${process.pid}.mjs`,
);
const globals = [
  `import * as aws from "@pulumi/aws";`,
  `import * as random from "@pulumi/random";`,
  `import * as sst from "${path.join(platform, "src/components")}";`,
].join("\n");
await esbuild.build({
  stdin: {
    contents: [
      `import { run } from "${path.join(platform, "src/auto/run.ts")}";`,
      `import mod from "${path.join(options.root, options.config)}";`,
      "export const evaluate = () => run(mod.run);",
    ].join("\n"),
    resolveDir: options.root,
    sourcefile: "eval.ts",
    loader: "ts",
  },
  bundle: true,
  platform: "node",
  format: "esm",
  mainFields: ["module", "main"],
  nodePaths: [path.join(platform, "node_modules")],
  banner: {
    js: [
      "import { createRequire as topLevelCreateRequire } from 'module';",
      "const require = topLevelCreateRequire(import.meta.url);",
      'import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url";',
      "const __filename = topLevelFileUrlToPath(import.meta.url);",
      'const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url));',
    ].join("\n"),
  },
  define: { $app: JSON.stringify(app), $cli: JSON.stringify(cli), $dev: String(options.dev) },
  inject: [path.join(platform, "src/shim/run.js")],
  external: [
    "@pulumi/*",
    "@pulumiverse/*",
    "@aws-sdk/*",
    "undici",
    "esbuild",
    "archiver",
    "glob",
    "vite",
  ],
  plugins: [
    {
      // The CLI prepends the provider namespaces to every user file (not to SST's own).
      name: "inject-globals",
      setup(build) {
        const configDir = path.dirname(path.resolve(options.root, options.config));
        build.onLoad({ filter: /\.(js|ts|jsx|tsx)$/ }, async (args) => {
          const relative = path.relative(configDir, args.path);
          if (relative.startsWith("..") || relative.split(path.sep).includes("node_modules"))
            return undefined;
          if (args.path.startsWith(platform)) return undefined;
          const { readFile } = await import("node:fs/promises");
          return {
            contents: `${globals}\n${await readFile(args.path, "utf8")}`,
            loader: "default",
          };
        });
      },
    },
  ],
  outfile: programFile,
  logLevel: "silent",
});

// --- Pulumi under mocks ----------------------------------------------------------------------

const pulumi = (await import(
  pathToFileURL(path.join(platform, "node_modules/@pulumi/pulumi/index.js")).href
)) as typeof import("@pulumi/pulumi");

const created = new Map<string, EvaluatedResource>();
const key = (type: string, name: string) => `${type}::${name}`;

function mockState(type: string, name: string, inputs: Record<string, unknown>) {
  const id = `${name}-id`;
  const arn = `arn:aws:${type.split(":")[1]?.split("/")[0] ?? "mock"}:us-east-1:123456789012:${name}`;
  const extra: Record<string, unknown> = {};
  if (type === "aws:rds/instance:Instance") {
    Object.assign(extra, {
      address: `${name}.mock.rds.amazonaws.com`,
      endpoint: `${name}.mock.rds.amazonaws.com:5432`,
      port: 5432,
    });
  }
  if (type === "aws:apigatewayv2/api:Api")
    Object.assign(extra, { apiEndpoint: `https://${id}.execute-api.us-east-1.amazonaws.com` });
  if (type === "aws:cloudfront/distribution:Distribution")
    Object.assign(extra, { domainName: `${id}.cloudfront.net` });
  if (type === "aws:s3/bucket:Bucket" || type === "aws:s3/bucketV2:BucketV2")
    Object.assign(extra, { bucketRegionalDomainName: `${id}.s3.us-east-1.amazonaws.com` });
  return { id, state: { arn, name: inputs.name ?? name, id, ...inputs, ...extra } };
}

await pulumi.runtime.setMocks(
  {
    newResource(args) {
      const entry = created.get(key(args.type, args.name));
      const resource: EvaluatedResource = entry ?? {
        type: args.type,
        name: args.name,
        custom: args.custom ?? true,
        dependsOn: [],
        inputs: {},
      };
      resource.inputs = args.inputs as Record<string, unknown>;
      resource.custom = args.custom ?? true;
      created.set(key(args.type, args.name), resource);
      return mockState(args.type, args.name, args.inputs as Record<string, unknown>);
    },
    call(args) {
      switch (args.token) {
        case "aws:index/getRegion:getRegion":
          return { name: "us-east-1", region: "us-east-1", id: "us-east-1" };
        case "aws:index/getCallerIdentity:getCallerIdentity":
          return {
            accountId: "123456789012",
            arn: "arn:aws:iam::123456789012:user/mock",
            userId: "mock",
          };
        case "aws:index/getPartition:getPartition":
          return { partition: "aws", dnsSuffix: "amazonaws.com" };
        case "aws:index/getAvailabilityZones:getAvailabilityZones":
          return {
            names: ["us-east-1a", "us-east-1b", "us-east-1c"],
            zoneIds: ["use1-az1", "use1-az2", "use1-az3"],
          };
        case "aws:ec2/getAmi:getAmi":
          return { id: "ami-0mock", architecture: "arm64" };
        case "aws:iam/getPolicyDocument:getPolicyDocument": {
          // As the provider does, the statements come back too (none when empty): SST gives its
          // Function and Service roles an inline policy only if there are any.
          const statements = args.inputs.statements ?? [];
          const json = JSON.stringify({ Version: "2012-10-17", Statement: statements });
          return {
            id: "mock",
            json,
            minifiedJson: json,
            statements: statements.length > 0 ? statements : undefined,
          };
        }
        default:
          return args.inputs;
      }
    },
  },
  app.name as string,
  options.stage,
  false,
);

const pending: Promise<unknown>[] = [];
const program = (await import(pathToFileURL(programFile).href)) as {
  evaluate(): Promise<Record<string, unknown>>;
};

let outputs: Record<string, unknown> = {};
try {
  await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation((args) => {
      const resource: EvaluatedResource = created.get(key(args.type, args.name)) ?? {
        type: args.type,
        name: args.name,
        custom: true,
        dependsOn: [],
        inputs: {},
      };
      const parent = args.opts.parent as { __name?: string } | undefined;
      if (parent?.__name) resource.parent = parent.__name;
      pending.push(
        new Promise((resolve) => {
          pulumi.output(args.opts.dependsOn ?? []).apply((list) => {
            const resources = Array.isArray(list) ? list : [list];
            resource.dependsOn = resources
              .map((dep) => (dep as { __name?: string }).__name)
              .filter((name): name is string => typeof name === "string");
            resolve(undefined);
          });
        }),
      );
      created.set(key(args.type, args.name), resource);
      return undefined;
    });
    outputs = (await program.evaluate()) ?? {};
    return outputs;
  });
  // Waits until every resource registration has reached the mocks.
  await pulumi.runtime.disconnect();
  await Promise.all(pending);
} finally {
  rmSync(programFile, { force: true });
  rmSync(work, { recursive: true, force: true });
  rpc.close();
}

const resolvedOutputs = await new Promise<Record<string, unknown>>((resolve) => {
  pulumi.output(outputs).apply((value) => resolve(value as Record<string, unknown>));
});

// Pulumi marks secret values with this signature key; a plan shows them as "[secret]".
const SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d";
function unwrapSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value && typeof value === "object") {
    if (SECRET_SIGNATURE in value) {
      const inner = (value as { value?: unknown }).value;
      return inner === undefined || inner === null ? "[secret]" : unwrapSecrets(inner);
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

const resources = [...created.values()].map((resource) => ({
  ...resource,
  inputs: unwrapSecrets(resource.inputs),
}));
writeFileSync(
  3,
  `${JSON.stringify({ resources, outputs: unwrapSecrets(resolvedOutputs), app, functionLinks })}\n`,
);
process.exit(0);
