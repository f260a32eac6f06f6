import {
  ApplicationAutoScalingClient,
  DeleteScheduledActionCommand,
  DescribeScalableTargetsCommand,
  DescribeScheduledActionsCommand,
  ObjectNotFoundException,
  RegisterScalableTargetCommand,
} from "@aws-sdk/client-application-auto-scaling";
import { DescribeServicesCommand, ECSClient } from "@aws-sdk/client-ecs";
import {
  DeleteParameterCommand,
  GetParameterCommand,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deployBounds, parseOverride } from "../../infra/scaling-override";
import { type Clients, scaleCommand, UsageError } from "./command";

// Application Auto Scaling, ECS and SSM cannot run here: the mocks stand at the SDK's edge, and
// every test asserts exactly which calls went out (none, for a refusal).
const NOW = new Date("2026-12-20T12:00:00Z");
const PARAMETER = "/slipway/production/scaling/api-override";
const link = {
  cluster: "slipway-production-ClusterCluster",
  service: "Api",
  min: 1,
  max: 4,
  cap: 8,
  overrideParameter: PARAMETER,
};
const links = { App: { name: "slipway", stage: "production" }, ApiScaling: link };
const RESOURCE = {
  ServiceNamespace: "ecs",
  ScalableDimension: "ecs:service:DesiredCount",
  ResourceId: "service/slipway-production-ClusterCluster/Api",
} as const;

const scaling = mockClient(ApplicationAutoScalingClient);
const ecs = mockClient(ECSClient);
const ssm = mockClient(SSMClient);
const mocks = [scaling, ecs, ssm];
beforeEach(() => {
  for (const mock of mocks) mock.reset();
});
afterEach(() => {
  for (const mock of mocks) mock.reset();
});

const clients = (): Clients => ({
  scaling: new ApplicationAutoScalingClient({ region: "us-east-1" }),
  ecs: new ECSClient({ region: "us-east-1" }),
  ssm: new SSMClient({ region: "us-east-1" }),
});
const run = (argv: string[], withLinks: object = links) =>
  scaleCommand(argv, { links: withLinks, clients, now: NOW, caller: "ops@laptop" });

/** Every call any mock received, as [command, input]. */
const sent = () =>
  mocks.flatMap((mock) =>
    mock.calls().map((call) => {
      const command = call.args[0] as { constructor: { name: string }; input: unknown };
      return [command.constructor.name, command.input];
    }),
  );

describe("npm run scale: refusals name the problem and send nothing to AWS", () => {
  const refusals: [string, string[], RegExp, object?][] = [
    ["no --stage", ["--min", "4"], /--stage is required/],
    [
      "an unknown flag",
      ["--stage", "production", "--min", "4", "--force"],
      /Unknown option '--force'/,
    ],
    [
      "a stray argument",
      ["--stage", "production", "--min", "4", "now"],
      /Unexpected argument 'now'/,
    ],
    ["no --min", ["--stage", "production", "--max", "8"], /--min is required/],
    ["--min 0", ["--stage", "production", "--min", "0"], /--min must be at least 1, got 0/],
    [
      "--min not a number",
      ["--stage", "production", "--min", "four"],
      /--min must be a whole number of tasks, got "four"/,
    ],
    ["--min negative", ["--stage", "production", "--min=-1"], /--min must be a whole number/],
    [
      "--max fractional",
      ["--stage", "production", "--min", "2", "--max", "2.5"],
      /--max must be a whole number/,
    ],
    [
      "min above max",
      ["--stage", "production", "--min", "6", "--max", "5"],
      /--min 6 is above --max 5/,
    ],
    [
      "max above the cap",
      ["--stage", "production", "--min", "4", "--max", "9"],
      /--max 9 is above production's cap of 8 tasks/,
    ],
    [
      "min above the cap (max defaults to min)",
      ["--stage", "production", "--min", "12"],
      /--max 12 is above production's cap of 8/,
    ],
    [
      "max below the configured max",
      ["--stage", "production", "--min", "2", "--max", "3"],
      /--max 3 is below the configured max 4/,
    ],
    [
      "a date that is not ISO",
      ["--stage", "production", "--min", "4", "--until", "24/12/2026 18:00"],
      /--until must be a UTC time like 2026-12-24T18:00Z/,
    ],
    [
      "a time without a zone",
      ["--stage", "production", "--min", "4", "--until", "2026-12-24T18:00"],
      /--until must be a UTC time/,
    ],
    [
      "a date that does not exist",
      ["--stage", "production", "--min", "4", "--until", "2026-02-30T18:00Z"],
      /--until 2026-02-30T18:00Z is not a valid date/,
    ],
    [
      "an hour that does not exist",
      ["--stage", "production", "--min", "4", "--until", "2026-12-24T24:00Z"],
      /is not a valid date and time/,
    ],
    [
      "a date in the past",
      ["--stage", "production", "--min", "4", "--until", "2026-12-19T18:00Z"],
      /--until 2026-12-19T18:00Z is not in the future \(now 2026-12-20T12:00:00.000Z\)/,
    ],
    [
      "now (not a minute ahead)",
      ["--stage", "production", "--min", "4", "--until", "2026-12-20T12:00:30Z"],
      /is not in the future/,
    ],
    [
      "--status with --min",
      ["--stage", "production", "--status", "--min", "4"],
      /--status takes no --min/,
    ],
    [
      "--reset with --until",
      ["--stage", "production", "--reset", "--until", "2026-12-24T18:00Z"],
      /--reset takes no --until/,
    ],
    [
      "another stage than sst shell's",
      ["--stage", "staging", "--min", "2"],
      /--stage staging, but sst shell was started for stage production/,
    ],
    [
      "no link (not under sst shell)",
      ["--stage", "production", "--min", "4"],
      /no ApiScaling link: run this under `npx sst shell/,
      {},
    ],
  ];
  it.each(refusals)("%s", async (_name, argv, message, withLinks) => {
    const error = await run(argv, withLinks).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain("usage (under `npx sst shell");
    expect(sent()).toEqual([]);
  });

  it("the script exits 1 with the reason on stderr and nothing on stdout", async () => {
    const { spawnSync } = await import("node:child_process");
    const result = spawnSync(
      process.execPath,
      ["--import", "tsx", "scripts/scale/scale.ts", "--stage", "production", "--min", "0"],
      { encoding: "utf8", env: { ...process.env, SST_RESOURCE_App: "", NODE_OPTIONS: "" } },
    );
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^--min must be at least 1, got 0\n/);
  });
});

describe("npm run scale: what it sends", () => {
  it("--min 4 --max 8 --until: records the override, raises the bounds, schedules the return", async () => {
    const lines = await run([
      "--stage",
      "production",
      "--min",
      "4",
      "--max",
      "8",
      "--until",
      "2026-12-24T18:00Z",
    ]);
    const record = {
      min: 4,
      max: 8,
      until: "2026-12-24T18:00:00.000Z",
      configured: { min: 1, max: 4 },
      setAt: "2026-12-20T12:00:00.000Z",
      setBy: "ops@laptop",
    };
    expect(sent()).toEqual([
      ["RegisterScalableTargetCommand", { ...RESOURCE, MinCapacity: 4, MaxCapacity: 8 }],
      [
        "PutScheduledActionCommand",
        {
          ...RESOURCE,
          ScheduledActionName: "slipway-scale-override-end",
          Schedule: "at(2026-12-24T18:00:00)",
          ScalableTargetAction: { MinCapacity: 1, MaxCapacity: 4 },
        },
      ],
      [
        "PutParameterCommand",
        {
          Name: PARAMETER,
          Type: "String",
          Tier: "Standard",
          Overwrite: true,
          Description: "npm run scale: the API's scaling override (ADR 032)",
          Value: JSON.stringify(record),
        },
      ],
    ]);
    // The record is written before the bounds are raised (a deploy in between keeps them).
    const recorded = ssm.commandCalls(PutParameterCommand)[0];
    const raised = scaling.commandCalls(RegisterScalableTargetCommand)[0];
    expect(recorded && raised && recorded.calledBefore(raised)).toBe(true);
    expect(parseOverride(PARAMETER, JSON.stringify(record))).toEqual(record);
    expect(lines).toEqual([
      "production: min 4, max 8 (configured min 1, max 4)",
      "returns to min 1, max 4 at 2026-12-24T18:00:00.000Z (scheduled action slipway-scale-override-end)",
    ]);
  });

  it("--min 2 alone keeps the configured max and removes an earlier override's end (none there: fine)", async () => {
    scaling
      .on(DeleteScheduledActionCommand)
      .rejects(new ObjectNotFoundException({ message: "No scheduled action", $metadata: {} }));
    const lines = await run(["--stage", "production", "--min", "2"]);
    expect(sent().map(([name]) => name)).toEqual([
      "RegisterScalableTargetCommand",
      "DeleteScheduledActionCommand",
      "PutParameterCommand",
    ]);
    expect(scaling.commandCalls(RegisterScalableTargetCommand)[0]?.args[0].input).toEqual({
      ...RESOURCE,
      MinCapacity: 2,
      MaxCapacity: 4,
    });
    expect(scaling.commandCalls(DeleteScheduledActionCommand)[0]?.args[0].input).toEqual({
      ...RESOURCE,
      ScheduledActionName: "slipway-scale-override-end",
    });
    const value = ssm.commandCalls(PutParameterCommand)[0]?.args[0].input.Value ?? "";
    expect(JSON.parse(value)).toMatchObject({ min: 2, max: 4, until: null });
    expect(lines[1]).toBe("until `npm run scale -- --stage production --reset`");
  });

  it("--reset registers the configured bounds and removes the end action and the record", async () => {
    ssm
      .on(DeleteParameterCommand)
      .rejects(new ParameterNotFound({ message: "gone", $metadata: {} }));
    expect(await run(["--stage", "production", "--reset"])).toEqual([
      "production: back to the configured min 1, max 4",
    ]);
    expect(sent()).toEqual([
      ["RegisterScalableTargetCommand", { ...RESOURCE, MinCapacity: 1, MaxCapacity: 4 }],
      [
        "DeleteScheduledActionCommand",
        { ...RESOURCE, ScheduledActionName: "slipway-scale-override-end" },
      ],
      ["DeleteParameterCommand", { Name: PARAMETER }],
    ]);
  });

  it("an AWS failure is not swallowed: the error surfaces", async () => {
    scaling.on(RegisterScalableTargetCommand).rejects(new Error("AccessDeniedException: no"));
    await expect(run(["--stage", "production", "--min", "4"])).rejects.toThrow("AccessDenied");
  });

  it("--status shows running/desired, the registered bounds, the override and scheduled actions (reads only)", async () => {
    ecs.on(DescribeServicesCommand).resolves({
      services: [{ runningCount: 3, pendingCount: 1, desiredCount: 4 }],
    });
    scaling.on(DescribeScalableTargetsCommand).resolves({
      ScalableTargets: [
        {
          ...RESOURCE,
          MinCapacity: 4,
          MaxCapacity: 8,
          RoleARN: "arn",
          CreationTime: NOW,
        },
      ],
    });
    scaling.on(DescribeScheduledActionsCommand).resolves({
      ScheduledActions: [
        {
          ...RESOURCE,
          ScheduledActionName: "slipway-scale-override-end",
          ScheduledActionARN: "arn",
          Schedule: "at(2026-12-24T18:00:00)",
          ScalableTargetAction: { MinCapacity: 1, MaxCapacity: 4 },
          CreationTime: NOW,
        },
      ],
    });
    ssm.on(GetParameterCommand).resolves({
      Parameter: {
        Value: JSON.stringify({
          min: 4,
          max: 8,
          until: "2026-12-24T18:00:00.000Z",
          configured: { min: 1, max: 4 },
          setAt: "2026-12-20T11:00:00.000Z",
          setBy: "ops@laptop",
        }),
      },
    });
    expect(await run(["--stage", "production", "--status"])).toEqual([
      "production: Api in slipway-production-ClusterCluster",
      "tasks: 3 running, 1 pending, 4 desired",
      "bounds: min 4, max 8 (configured min 1, max 4, cap 8)",
      "override: min 4, max 8, until 2026-12-24T18:00:00.000Z, set 2026-12-20T11:00:00.000Z by ops@laptop",
      "scheduled actions:",
      "  slipway-scale-override-end: at(2026-12-24T18:00:00) -> min 1, max 4",
    ]);
    expect(sent()).toEqual([
      [
        "DescribeScalableTargetsCommand",
        {
          ServiceNamespace: "ecs",
          ScalableDimension: "ecs:service:DesiredCount",
          ResourceIds: [RESOURCE.ResourceId],
        },
      ],
      ["DescribeScheduledActionsCommand", { ...RESOURCE }],
      ["DescribeServicesCommand", { cluster: link.cluster, services: ["Api"] }],
      ["GetParameterCommand", { Name: PARAMETER }],
    ]);
  });

  it("--status with no override and nothing scheduled says so", async () => {
    ecs
      .on(DescribeServicesCommand)
      .resolves({ services: [{ runningCount: 1, pendingCount: 0, desiredCount: 1 }] });
    scaling.on(DescribeScalableTargetsCommand).resolves({ ScalableTargets: [] });
    scaling.on(DescribeScheduledActionsCommand).resolves({ ScheduledActions: [] });
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: "none", $metadata: {} }));
    const lines = await run(["--stage", "production", "--status"]);
    expect(lines.slice(1)).toEqual([
      "tasks: 1 running, 0 pending, 1 desired",
      "bounds: no scalable target registered",
      "override: none",
      "scheduled actions: none",
    ]);
  });
});

describe("what a deploy registers (infra/scaling-override.ts, evaluated in the graph too)", () => {
  const configured = { min: 1, max: 4 };
  const record = (until: string | null, was = configured) =>
    JSON.stringify({ min: 4, max: 8, until, configured: was, setAt: "x", setBy: "y" });
  const bounds = (parameters: { name: string; value: string }[]) =>
    deployBounds({
      stage: "production",
      configured,
      parameters,
      expectedName: PARAMETER,
      now: NOW,
    });

  it("no record, or an ended one: the configured bounds", () => {
    expect(bounds([])).toEqual(configured);
    expect(bounds([{ name: PARAMETER, value: record("2026-12-20T11:59:00.000Z") }])).toEqual(
      configured,
    );
  });

  it("an active override (with or without an end): its bounds", () => {
    for (const until of ["2026-12-24T18:00:00.000Z", null])
      expect(bounds([{ name: PARAMETER, value: record(until) }])).toMatchObject({ min: 4, max: 8 });
  });

  it("an active override set under other configured bounds, a broken record, or a stranger: refused by name", () => {
    expect(() => bounds([{ name: PARAMETER, value: record(null, { min: 2, max: 4 }) }])).toThrow(
      /set when the stage was configured min 2 max 4; this deploy configures min 1 max 4/,
    );
    expect(() => bounds([{ name: PARAMETER, value: "{" }])).toThrow(
      `${PARAMETER} is not a scaling override record`,
    );
    expect(() => bounds([{ name: PARAMETER, value: record("tomorrow") }])).toThrow(
      /is not a scaling override record/,
    );
    expect(() => bounds([{ name: `${PARAMETER}-old`, value: "1" }])).toThrow(
      `unexpected parameter ${PARAMETER}-old`,
    );
  });
});
