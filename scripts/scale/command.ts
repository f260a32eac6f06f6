import { parseArgs } from "node:util";
import {
  type ApplicationAutoScalingClient,
  DeleteScheduledActionCommand,
  DescribeScalableTargetsCommand,
  DescribeScheduledActionsCommand,
  ObjectNotFoundException,
  PutScheduledActionCommand,
  RegisterScalableTargetCommand,
} from "@aws-sdk/client-application-auto-scaling";
import { DescribeServicesCommand, type ECSClient } from "@aws-sdk/client-ecs";
import {
  DeleteParameterCommand,
  GetParameterCommand,
  ParameterNotFound,
  PutParameterCommand,
  type SSMClient,
} from "@aws-sdk/client-ssm";
import {
  OVERRIDE_END_ACTION,
  overrideActive,
  parseOverride,
  type ScalingOverride,
} from "../../infra/scaling-override";

export const USAGE = [
  "usage (under `npx sst shell --stage <stage> --`):",
  "  npm run scale -- --stage <stage> --min N [--max M] [--until 2026-12-24T18:00Z]",
  "  npm run scale -- --stage <stage> --status",
  "  npm run scale -- --stage <stage> --reset",
].join("\n");

/** What infra/api.ts links as `ApiScaling` (plus SST's `App`), read from `Resource`. */
export interface ScalingLink {
  cluster: string;
  service: string;
  min: number;
  max: number;
  cap: number;
  overrideParameter: string;
}

export type Command =
  | { kind: "status"; stage: string }
  | { kind: "reset"; stage: string }
  | { kind: "set"; stage: string; min: number; max?: number; until?: Date };

/** A refusal: the message names the problem; nothing was sent to AWS. */
export class UsageError extends Error {}

const fail = (message: string): never => {
  throw new UsageError(`${message}\n${USAGE}`);
};

const count = (flag: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) return fail(`--${flag} must be a whole number of tasks, got "${text}"`);
  return Number(text);
};

/** An ISO 8601 UTC time (`2026-12-24T18:00Z`, seconds optional): the scheduled action's zone. */
const UNTIL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?Z$/;

function until(text: string | undefined, now: Date): Date | undefined {
  if (text === undefined) return undefined;
  const parts = UNTIL.exec(text);
  if (!parts)
    return fail(
      `--until must be a UTC time like 2026-12-24T18:00Z (ISO 8601 ending in Z), got "${text}"`,
    );
  const [, y, mo, d, h, mi, s] = parts.map(Number) as number[];
  const date = new Date(Date.UTC(y ?? 0, (mo ?? 1) - 1, d, h, mi, s || 0));
  // Date.UTC rolls 2026-02-30 over into March: a date that does not exist is refused instead.
  if (
    date.getUTCFullYear() !== y ||
    date.getUTCMonth() !== (mo ?? 1) - 1 ||
    date.getUTCDate() !== d ||
    (h ?? 0) > 23 ||
    (mi ?? 0) > 59 ||
    (s ?? 0) > 59
  )
    return fail(`--until ${text} is not a valid date and time`);
  if (date.getTime() <= now.getTime() + 60_000)
    return fail(
      `--until ${text} is not in the future (now ${now.toISOString()}): give a time at least a minute ahead`,
    );
  return date;
}

/** Parses the arguments; any problem is a UsageError naming it. */
export function parseCommand(argv: string[], now: Date): Command {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        stage: { type: "string" },
        min: { type: "string" },
        max: { type: "string" },
        until: { type: "string" },
        status: { type: "boolean" },
        reset: { type: "boolean" },
      },
    }));
  } catch (error) {
    return fail((error as Error).message);
  }
  const stage = values.stage as string | undefined;
  if (!stage) return fail("--stage is required (the stage `sst shell` was started for)");
  const setting = ["min", "max", "until"].filter((flag) => values[flag] !== undefined);
  if (values.status || values.reset) {
    const other = values.status && values.reset ? ["reset"] : setting;
    if (other.length > 0)
      return fail(`--${values.status ? "status" : "reset"} takes no --${other.join(", --")}`);
    return { kind: values.status ? "status" : "reset", stage };
  }
  const min = count("min", values.min as string | undefined);
  if (min === undefined) return fail("--min is required (or --status, or --reset)");
  const max = count("max", values.max as string | undefined);
  if (min < 1) return fail(`--min must be at least 1, got ${min}`);
  if (max !== undefined && min > max) return fail(`--min ${min} is above --max ${max}`);
  return { kind: "set", stage, min, max, until: until(values.until as string | undefined, now) };
}

export interface Plan {
  command: Command;
  link: ScalingLink;
  resourceId: string;
  /** For `set`: the bounds to register (max defaults to the larger of configured max and min). */
  bounds?: { min: number; max: number };
}

/** Checks a parsed command against the deployed stage's link; a refusal names the problem. */
export function plan(command: Command, link: ScalingLink, linkedStage: string): Plan {
  if (command.stage !== linkedStage)
    fail(
      `--stage ${command.stage}, but sst shell was started for stage ${linkedStage}: run it with --stage ${command.stage}`,
    );
  const resourceId = `service/${link.cluster}/${link.service}`;
  if (command.kind !== "set") return { command, link, resourceId };
  const max = command.max ?? Math.max(link.max, command.min);
  if (command.min > max) fail(`--min ${command.min} is above --max ${max}`);
  if (max > link.cap)
    fail(
      `--max ${max} is above ${command.stage}'s cap of ${link.cap} tasks (infra/stage.ts sizing.api.capTasks: the database's connection budget)`,
    );
  if (command.min < link.min)
    fail(
      `--min ${command.min} is below the configured min ${link.min}: use --reset to return to it`,
    );
  if (max < link.max)
    fail(`--max ${max} is below the configured max ${link.max}: an override only raises`);
  return { command, link, resourceId, bounds: { min: command.min, max } };
}

export interface Clients {
  scaling: ApplicationAutoScalingClient;
  ecs: ECSClient;
  ssm: SSMClient;
}

const target = (resourceId: string) => ({
  ServiceNamespace: "ecs" as const,
  ScalableDimension: "ecs:service:DesiredCount" as const,
  ResourceId: resourceId,
});

/** `at(...)`: the scheduled action's one-time expression, in UTC (its default time zone). */
const at = (date: Date) => `at(${date.toISOString().slice(0, 19)})`;

async function ignoreMissing(send: Promise<unknown>) {
  try {
    await send;
  } catch (error) {
    if (error instanceof ObjectNotFoundException || error instanceof ParameterNotFound) return;
    throw error;
  }
}

/** Carries out a plan; returns the lines to print. */
export async function execute(
  p: Plan,
  clients: Clients,
  context: { now: Date; caller: string },
): Promise<string[]> {
  const { link, resourceId, command } = p;
  if (command.kind === "status") return status(p, clients, context.now);
  if (command.kind === "reset") {
    await clients.scaling.send(
      new RegisterScalableTargetCommand({
        ...target(resourceId),
        MinCapacity: link.min,
        MaxCapacity: link.max,
      }),
    );
    await ignoreMissing(
      clients.scaling.send(
        new DeleteScheduledActionCommand({
          ...target(resourceId),
          ScheduledActionName: OVERRIDE_END_ACTION,
        }),
      ),
    );
    await ignoreMissing(
      clients.ssm.send(new DeleteParameterCommand({ Name: link.overrideParameter })),
    );
    return [`${command.stage}: back to the configured min ${link.min}, max ${link.max}`];
  }
  const bounds = p.bounds ?? { min: link.min, max: link.max };
  const record: ScalingOverride = {
    ...bounds,
    until: command.until?.toISOString() ?? null,
    configured: { min: link.min, max: link.max },
    setAt: context.now.toISOString(),
    setBy: context.caller,
  };
  // The record first: a deploy from here on keeps the raised bounds (infra/api.ts).
  await clients.ssm.send(
    new PutParameterCommand({
      Name: link.overrideParameter,
      Type: "String",
      Tier: "Standard",
      Overwrite: true,
      Description: "npm run scale: the API's scaling override (ADR 032)",
      Value: JSON.stringify(record),
    }),
  );
  // Raising the minimum raises the desired count to it now (RegisterScalableTarget).
  await clients.scaling.send(
    new RegisterScalableTargetCommand({
      ...target(resourceId),
      MinCapacity: bounds.min,
      MaxCapacity: bounds.max,
    }),
  );
  if (command.until) {
    await clients.scaling.send(
      new PutScheduledActionCommand({
        ...target(resourceId),
        ScheduledActionName: OVERRIDE_END_ACTION,
        Schedule: at(command.until),
        ScalableTargetAction: { MinCapacity: link.min, MaxCapacity: link.max },
      }),
    );
  } else {
    // An earlier override's end would otherwise end this one, which has none.
    await ignoreMissing(
      clients.scaling.send(
        new DeleteScheduledActionCommand({
          ...target(resourceId),
          ScheduledActionName: OVERRIDE_END_ACTION,
        }),
      ),
    );
  }
  return [
    `${command.stage}: min ${bounds.min}, max ${bounds.max} (configured min ${link.min}, max ${link.max})`,
    command.until
      ? `returns to min ${link.min}, max ${link.max} at ${record.until} (scheduled action ${OVERRIDE_END_ACTION})`
      : `until \`npm run scale -- --stage ${command.stage} --reset\``,
  ];
}

async function status(p: Plan, clients: Clients, now: Date): Promise<string[]> {
  const { link, resourceId, command } = p;
  const [services, targets, actions, parameter] = await Promise.all([
    clients.ecs.send(
      new DescribeServicesCommand({ cluster: link.cluster, services: [link.service] }),
    ),
    clients.scaling.send(
      new DescribeScalableTargetsCommand({
        ServiceNamespace: "ecs",
        ScalableDimension: "ecs:service:DesiredCount",
        ResourceIds: [resourceId],
      }),
    ),
    clients.scaling.send(
      new DescribeScheduledActionsCommand({
        ServiceNamespace: "ecs",
        ScalableDimension: "ecs:service:DesiredCount",
        ResourceId: resourceId,
      }),
    ),
    clients.ssm
      .send(new GetParameterCommand({ Name: link.overrideParameter }))
      .then((out) => out.Parameter?.Value)
      .catch((error: unknown) => {
        if (error instanceof ParameterNotFound) return undefined;
        throw error;
      }),
  ]);
  const service = services.services?.[0];
  if (!service) throw new Error(`ECS has no service ${link.service} in cluster ${link.cluster}`);
  const scalable = targets.ScalableTargets?.[0];
  const lines = [
    `${command.stage}: ${link.service} in ${link.cluster}`,
    `tasks: ${service.runningCount ?? 0} running, ${service.pendingCount ?? 0} pending, ${service.desiredCount ?? 0} desired`,
    scalable
      ? `bounds: min ${scalable.MinCapacity}, max ${scalable.MaxCapacity} (configured min ${link.min}, max ${link.max}, cap ${link.cap})`
      : "bounds: no scalable target registered",
  ];
  if (parameter) {
    const override = parseOverride(link.overrideParameter, parameter);
    lines.push(
      overrideActive(override, now)
        ? `override: min ${override.min}, max ${override.max}, ${override.until ? `until ${override.until}` : "no end (--reset ends it)"}, set ${override.setAt} by ${override.setBy}`
        : `override: ended ${override.until} (deploys use the configured bounds)`,
    );
  } else lines.push("override: none");
  const scheduled = actions.ScheduledActions ?? [];
  lines.push(scheduled.length === 0 ? "scheduled actions: none" : "scheduled actions:");
  for (const action of scheduled)
    lines.push(
      `  ${action.ScheduledActionName}: ${action.Schedule} -> min ${action.ScalableTargetAction?.MinCapacity ?? "-"}, max ${action.ScalableTargetAction?.MaxCapacity ?? "-"}`,
    );
  return lines;
}

/** Reads `ApiScaling` and `App` from SST's links; a missing or partial link is a refusal. */
export function readLink(links: object): { link: ScalingLink; stage: string } {
  const all = links as Record<string, unknown>;
  const app = ("App" in all ? all.App : undefined) as { stage?: unknown } | undefined;
  const link = ("ApiScaling" in all ? all.ApiScaling : undefined) as
    | Partial<ScalingLink>
    | undefined;
  const complete =
    link &&
    typeof link.cluster === "string" &&
    typeof link.service === "string" &&
    typeof link.overrideParameter === "string" &&
    [link.min, link.max, link.cap].every((n) => typeof n === "number");
  if (!complete || typeof app?.stage !== "string")
    return fail(
      "no ApiScaling link: run this under `npx sst shell --stage <stage> --` against a deployed stage (infra/api.ts links it)",
    );
  return { link: link as ScalingLink, stage: app.stage };
}

/** The whole command: arguments and link checked before anything is sent to AWS. */
export async function scaleCommand(
  argv: string[],
  context: { links: object; clients: () => Clients; now: Date; caller: string },
): Promise<string[]> {
  const command = parseCommand(argv, context.now);
  const { link, stage } = readLink(context.links);
  return execute(plan(command, link, stage), context.clients(), context);
}
