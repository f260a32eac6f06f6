import { describe, expect, it } from "vitest";
import {
  free,
  loadPrices,
  notPriced,
  price,
  pricers,
  UnpricedResourceError,
  unclassified,
} from "../../scripts/cost/price";
import type { EvaluatedResource, Evaluation } from "../../scripts/infra/evaluate";

/**
 * The pricing table on small hand-made graphs (no evaluation): a type nobody priced fails, and
 * each ECS service is priced from its own task definition and autoscaling target. The real
 * graphs are priced against their budgets in graph.test.ts.
 */

const resource = (
  type: string,
  name: string,
  inputs: Record<string, unknown> = {},
  custom = true,
): EvaluatedResource => ({ type, name, custom, dependsOn: [], inputs });

const graph = (...resources: EvaluatedResource[]): Evaluation => ({
  app: { name: "slipway", stage: "test", removal: "remove", protect: false },
  resources,
  outputs: {},
  functionLinks: {},
  variables: {},
});

const arn = (service: string, name: string) => `arn:aws:${service}:us-east-1:123456789012:${name}`;

describe("the pricing table", () => {
  it("fails on a resource type that is neither priced nor listed free, naming it and its resources", () => {
    const invented = graph(
      resource("aws:iam/role:Role", "SomeRole"),
      resource("aws:imaginary/widget:Widget", "MysteryWidgetA"),
      resource("aws:imaginary/widget:Widget", "MysteryWidgetB"),
      // A component only groups other resources: never priced, never a failure.
      resource("sst:aws:Widget", "Mystery", {}, false),
    );
    expect(unclassified(invented)).toEqual([
      { type: "aws:imaginary/widget:Widget", resources: ["MysteryWidgetA", "MysteryWidgetB"] },
    ]);
    expect(() => price(invented, 0)).toThrow(UnpricedResourceError);
    expect(() => price(invented, 0)).toThrow(
      "aws:imaginary/widget:Widget: MysteryWidgetA, MysteryWidgetB",
    );
  });

  it("tells dynamic resources apart by the provider they run", () => {
    const dynamic = (name: string, kind: string) =>
      resource("pulumi-nodejs:dynamic:Resource", name, {
        __provider: `var __provider = Object.create(__provider_proto);\n__provider.type = "${kind}";\n`,
      });
    expect(() => price(graph(dynamic("SiteKvKeys", "Aws.KvKeys")), 0)).not.toThrow();
    expect(() => price(graph(dynamic("Mystery", "Aws.Mystery")), 0)).toThrow(
      "pulumi-nodejs:dynamic:Resource#Aws.Mystery: Mystery",
    );
  });

  it("lists each type in one place only", () => {
    const listed = [...Object.keys(pricers), ...Object.keys(free), ...Object.keys(notPriced)];
    expect(listed.filter((type, i) => listed.indexOf(type) !== i)).toEqual([]);
  });

  it("says in the report which resources it leaves unpriced", () => {
    const report = price(graph(resource("aws:cloudfront/function:Function", "RouterFn")), 0);
    expect(report.assumptions.join("\n")).toContain(
      "not priced: aws:cloudfront/function:Function (RouterFn)",
    );
  });

  it("prices a Cloud Map namespace as the Route 53 private hosted zone it is", () => {
    const report = price(
      graph(
        resource("aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace", "VpcCloudmap"),
      ),
      0,
    );
    expect(report.lines).toMatchObject([{ resource: "VpcCloudmap", type: "Route 53", idle: 0.5 }]);
  });
});

describe("ECS services", () => {
  // Three services in one cluster; the first task definition and the first scaling target in the
  // graph belong to the second service, so borrowing "the first of each" gets every one wrong.
  const cluster = resource("aws:ecs/cluster:Cluster", "Cluster", { name: "test-cluster" });
  const task = (name: string, cpu: number, memory: number, arch: "ARM64" | "X86_64") =>
    resource("aws:ecs/taskDefinition:TaskDefinition", name, {
      cpu: String(cpu),
      memory: String(memory),
      runtimePlatform: { cpuArchitecture: arch, operatingSystemFamily: "LINUX" },
    });
  const service = (name: string, taskName: string, extra: Record<string, unknown> = {}) =>
    resource("aws:ecs/service:Service", `${name}Service`, {
      name,
      cluster: arn("ecs", "Cluster"),
      taskDefinition: arn("ecs", taskName),
      desiredCount: 1,
      ...extra,
    });
  const target = (serviceName: string, min: number, max: number) =>
    resource("aws:appautoscaling/target:Target", `${serviceName}AutoScalingTarget`, {
      serviceNamespace: "ecs",
      scalableDimension: "ecs:service:DesiredCount",
      resourceId: `service/test-cluster/${serviceName}`,
      minCapacity: min,
      maxCapacity: max,
    });
  const evaluation = graph(
    cluster,
    task("BigTask", 1024, 2048, "X86_64"),
    task("SmallTask", 256, 512, "ARM64"),
    task("MidTask", 512, 1024, "ARM64"),
    target("Big", 2, 6),
    target("Small", 1, 3),
    service("Small", "SmallTask"),
    service("Big", "BigTask", {
      capacityProviderStrategies: [{ capacityProvider: "FARGATE_SPOT", weight: 1 }],
    }),
    // No scaling target: its desired count is its size.
    service("Mid", "MidTask", { desiredCount: 2 }),
  );
  const usd = (key: string) => loadPrices().prices[key]?.usd ?? Number.NaN;
  const month = loadPrices().hoursPerMonth;
  const round = (n: number) => Math.round(n * 100) / 100;
  const report = price(evaluation, 0);
  const lineOf = (name: string) => report.lines.find((l) => l.resource === name);

  it("prices each service with its own task definition and its own scaling target", () => {
    expect(lineOf("SmallService")).toMatchObject({
      detail: expect.stringMatching(/^1-3 × 0\.25 vCPU \/ 0\.5 GB ARM,/),
      idle: round(month * (0.25 * usd("fargate.arm.vcpuHour") + 0.5 * usd("fargate.arm.gbHour"))),
    });
    expect(lineOf("BigService")).toMatchObject({
      detail: expect.stringMatching(/^2-6 × 1 vCPU \/ 2 GB X86 Spot,/),
      idle: round(
        2 * month * (usd("fargate.spot.x86.vcpuHour") + 2 * usd("fargate.spot.x86.gbHour")),
      ),
    });
    expect(lineOf("MidService")).toMatchObject({
      detail: expect.stringMatching(/^2-2 × 0\.5 vCPU \/ 1 GB ARM,/),
      idle: round(2 * month * (0.5 * usd("fargate.arm.vcpuHour") + usd("fargate.arm.gbHour"))),
    });
  });

  it("fails on a service whose task definition is not in the graph", () => {
    const orphan = graph(cluster, service("Orphan", "MissingTask"));
    expect(() => price(orphan, 0)).toThrow(
      "OrphanService: its taskDefinition (arn:aws:ecs:us-east-1:123456789012:MissingTask) is no aws:ecs/taskDefinition:TaskDefinition in the graph",
    );
  });
});

describe("Aurora Serverless v2 and RDS Proxy (ADR 035)", () => {
  const usd = (key: string) => loadPrices().prices[key]?.usd ?? Number.NaN;
  const month = loadPrices().hoursPerMonth;
  const round = (n: number) => Math.round(n * 100) / 100;
  const cluster = (min: number, max: number, pause?: number) =>
    resource("aws:rds/cluster:Cluster", "AuroraCluster", {
      clusterIdentifier: "slipway-auroracluster",
      serverlessv2ScalingConfiguration: {
        minCapacity: min,
        maxCapacity: max,
        ...(pause ? { secondsUntilAutoPause: pause } : {}),
      },
    });
  const member = (name: string) =>
    resource("aws:rds/clusterInstance:ClusterInstance", name, {
      clusterIdentifier: "AuroraCluster-id",
      instanceClass: "db.serverless",
    });
  const proxyTo = (target: Record<string, string>) => [
    resource("aws:rds/proxy:Proxy", "DatabaseProxy", { engineFamily: "POSTGRESQL" }),
    resource("aws:rds/proxyTarget:ProxyTarget", "DatabaseProxyTarget", {
      dbProxyName: "DatabaseProxy",
      ...target,
    }),
  ];
  const lineOf = (report: ReturnType<typeof price>, name: string) =>
    report.lines.find((l) => l.resource === name);

  it("an instance idles at its minimum ACUs every hour; at traffic it averages load/capacity, never above its maximum", () => {
    const evaluation = graph(cluster(0.5, 4), member("AuroraInstance"));
    expect(lineOf(price(evaluation, 0), "AuroraInstance")?.idle).toBe(
      round(month * 0.5 * usd("aurora.serverlessV2.acuHour")),
    );
    // 10 billion requests a month is ~3,800/s: far past 4 ACUs' worth, so it is capped at 4.
    expect(lineOf(price(evaluation, 1e10), "AuroraInstance")?.atTraffic).toBe(
      round(month * 4 * usd("aurora.serverlessV2.acuHour")),
    );
  });

  it("an auto-paused instance bills only the hours the schedules wake it, at 0.5 ACU", () => {
    const hourly = resource("aws:scheduler/schedule:Schedule", "Hourly", {
      scheduleExpression: "rate(1 hour)",
    });
    const paused = price(graph(cluster(0, 4, 300), member("AuroraInstance"), hourly), 0);
    // 730 wakes of 6 minutes (5 idle, 1 working) at 0.5 ACU, a tenth of the always-on figure.
    expect(lineOf(paused, "AuroraInstance")?.idle).toBe(
      round(((month * 6) / 60) * 0.5 * usd("aurora.serverlessV2.acuHour")),
    );
    const none = price(graph(cluster(0, 4, 300), member("AuroraInstance")), 0);
    expect(lineOf(none, "AuroraInstance")?.idle).toBe(0);
  });

  it("the cluster's storage is billed as used, and its I/O per request", () => {
    const report = price(graph(cluster(0.5, 4), member("AuroraInstance")), 1e6);
    expect(lineOf(report, "AuroraCluster storage")).toMatchObject({
      idle: round(5 * usd("aurora.storage.gbMonth")),
      atTraffic: round(5 * usd("aurora.storage.gbMonth") + 5 * usd("aurora.io.million")),
    });
  });

  it("RDS Proxy in front of db.t4g.micro bills its 2 vCPUs (the minimum), busy or not", () => {
    const db = resource("aws:rds/instance:Instance", "DatabaseInstance", {
      identifier: "slipway-db",
      instanceClass: "db.t4g.micro",
      allocatedStorage: 20,
    });
    const report = price(graph(db, ...proxyTo({ dbInstanceIdentifier: "slipway-db" })), 1e8);
    expect(lineOf(report, "DatabaseProxy")).toMatchObject({
      idle: round(month * 2 * usd("rdsProxy.provisioned.vcpuHour")),
      atTraffic: round(month * 2 * usd("rdsProxy.provisioned.vcpuHour")),
    });
    expect(round(month * 2 * usd("rdsProxy.provisioned.vcpuHour"))).toBe(21.9);
  });

  it("RDS Proxy in front of Aurora Serverless bills at least 8 ACUs, more when the cluster runs more", () => {
    const members = Array.from({ length: 3 }, (_, i) => member(`AuroraInstance${i}`));
    const evaluation = graph(
      cluster(0.5, 4),
      ...members,
      ...proxyTo({ dbClusterIdentifier: "slipway-auroracluster" }),
    );
    const idle = lineOf(price(evaluation, 0), "DatabaseProxy");
    expect(idle?.idle).toBe(round(month * 8 * usd("rdsProxy.serverless.acuHour")));
    // Three instances at their 4 ACU maximum: 12 ACUs, above the minimum.
    expect(lineOf(price(evaluation, 1e10), "DatabaseProxy")?.atTraffic).toBe(
      round(month * 12 * usd("rdsProxy.serverless.acuHour")),
    );
  });

  it("fails on a proxy with no target, or in front of an instance class it has no vCPU count for", () => {
    const [proxy] = proxyTo({});
    expect(() => price(graph(proxy as EvaluatedResource), 0)).toThrow(
      "DatabaseProxy: no aws:rds/proxyTarget:ProxyTarget names it",
    );
    const big = resource("aws:rds/instance:Instance", "Big", {
      identifier: "big",
      instanceClass: "db.r7g.large",
      allocatedStorage: 20,
    });
    expect(() => price(graph(big, ...proxyTo({ dbInstanceIdentifier: "big" })), 0)).toThrow(
      'no price "rds.db.r7g.large',
    );
  });
});
