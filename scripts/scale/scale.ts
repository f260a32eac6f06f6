import { hostname, userInfo } from "node:os";
import { ApplicationAutoScalingClient } from "@aws-sdk/client-application-auto-scaling";
import { ECSClient } from "@aws-sdk/client-ecs";
import { SSMClient } from "@aws-sdk/client-ssm";
import { Resource } from "sst/resource";
import { scaleCommand, UsageError } from "./command";

/**
 * `npx sst shell --stage production -- npm run scale -- --stage production --min 4 --until …`:
 * pre-emptive scaling of the API service without a deploy (ADR 032). `--status` shows it.
 */
try {
  const lines = await scaleCommand(process.argv.slice(2), {
    links: Resource,
    clients: () => ({
      scaling: new ApplicationAutoScalingClient({}),
      ecs: new ECSClient({}),
      ssm: new SSMClient({}),
    }),
    now: new Date(),
    caller: `${userInfo().username}@${hostname()}`,
  });
  process.stdout.write(`${lines.join("\n")}\n`);
} catch (error) {
  process.stderr.write(
    `${error instanceof UsageError ? "" : "npm run scale: "}${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
}
