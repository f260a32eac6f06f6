import { beforeAll, describe, expect, it } from "vitest";
import { baselineEntry, grown, readBaseline } from "../../scripts/cost/baseline";
import { price } from "../../scripts/cost/price";
import { copyConfig, type Evaluation, evaluate } from "../../scripts/infra/evaluate";
import { budgetFor, budgets } from "../budgets";
import { checks, type StageKind, violations } from "./invariants";

/**
 * The real `sst.config.ts` + `infra/`, evaluated offline with SST's real components under
 * Pulumi's mocks, for the three kinds of stage; then a deliberately broken copy, to show the
 * checks catch what they claim to.
 */

const graphs = {} as Record<StageKind | "brokenA" | "brokenB", Evaluation>;

// Two copies, so that no breakage hides another (a managed NAT has no NAT security group).
const breakages = [
  {
    copy: "B",
    file: "infra/monitoring.ts",
    from: "threshold: 80,",
    to: "threshold: 95,",
    caught: "no alarm on database CPU > 80%",
  },
  {
    copy: "A",
    file: "infra/database.ts",
    from: "publiclyAccessible: false",
    to: "publiclyAccessible: true",
    caught: "RDS is publicly accessible",
  },
  {
    copy: "A",
    file: "infra/network.ts",
    from: 'nat: "ec2"',
    to: 'nat: "managed"',
    caught: "a managed NAT gateway exists",
  },
  {
    copy: "A",
    file: "infra/api.ts",
    from: "if (migration) opts.dependsOn = [migration];",
    to: "",
    caught: "the ECS service does not depend on the migrator invocation",
  },
  {
    copy: "B",
    file: "infra/network.ts",
    from: "cidrBlocks: [VPC_CIDR]",
    to: 'cidrBlocks: ["0.0.0.0/0"]',
    caught: "VpcNatInstanceSecurityGroup accepts -1 0-0 from the internet",
  },
  {
    copy: "B",
    file: "infra/api.ts",
    from: "assignPublicIp: false",
    to: "assignPublicIp: true",
    caught: "ECS tasks get a public IP",
  },
  {
    copy: "B",
    file: "infra/stage.ts",
    from: 'logRetention: isProduction ? ("3 months" as const) : ("1 month" as const)',
    to: 'logRetention: "forever" as const',
    caught: "MigratorLogGroup keeps logs forever",
  },
  {
    copy: "A",
    file: "infra/storage.ts",
    from: '{ actions: ["s3:PutObject"], resources: [files] }',
    to: '{ actions: ["s3:*"], resources: [uploads.arn, files] }',
    caught:
      "WorkerRole allows s3:* on arn:aws:s3:us-east-1:123456789012:UploadsBucket, beyond its attachment access",
  },
  // SST's default trust for a Function role: the account root may assume it in every stage.
  {
    copy: "B",
    file: "infra/database.ts",
    from: "  transform: { role: lambdaOnlyTrust },",
    to: "",
    caught: 'MigratorRole trusts AWS ["arn:aws:iam::123456789012:root"]',
  },
  // The API able to write checked files: a replayed or forged upload could replace what is served.
  {
    copy: "B",
    file: "infra/storage.ts",
    from: '{ actions: ["s3:PutObject"], resources: [incoming] }',
    to: '{ actions: ["s3:PutObject"], resources: [incoming, files] }',
    caught:
      "ApiTaskRole allows s3:PutObject on arn:aws:s3:us-east-1:123456789012:UploadsBucket/attachments/files/*, beyond its attachment access",
  },
  // Checked files expiring with the stray uploads.
  {
    copy: "A",
    file: "infra/storage.ts",
    from: "filter: { prefix: INCOMING_PREFIX },",
    to: "filter: { prefix: ATTACHMENTS_PREFIX },",
    caught: "stray uploads must expire under attachments/incoming/ only, after 14+ days",
  },
  // The API links the Bucket itself (SST's Bucket link grants s3:* on all of it).
  {
    copy: "A",
    file: "infra/api.ts",
    from: "import { apiAttachmentPermissions, attachmentStore }",
    to: "import { apiAttachmentPermissions, uploads as attachmentStore }",
    caught:
      "ApiTaskRole allows s3:* on arn:aws:s3:us-east-1:123456789012:UploadsBucket, beyond its attachment access",
  },
  // Other principals: a role, and the bucket policy (serving the bucket through CloudFront).
  {
    copy: "A",
    file: "infra/database.ts",
    from: "link: [database, secrets.SentryDsn],",
    to: 'link: [database, secrets.SentryDsn], permissions: [{ actions: ["s3:*"], resources: ["*"] }],',
    caught: "MigratorRole allows s3:* on *, outside the API and the worker",
  },
  {
    copy: "B",
    file: "infra/storage.ts",
    from: 'export const uploads = new sst.aws.Bucket("Uploads", {',
    to: 'export const uploads = new sst.aws.Bucket("Uploads", { access: "cloudfront",',
    caught:
      "UploadsPolicy allows s3:GetObject on arn:aws:s3:us-east-1:123456789012:UploadsBucket/*, outside the API and the worker",
  },
  {
    copy: "B",
    file: "infra/storage.ts",
    // IfExists lets a ListBucket without a prefix list the whole bucket.
    from: 'test: "StringLike"',
    to: 'test: "StringLikeIfExists"',
    caught:
      "WorkerRole allows s3:ListBucket on arn:aws:s3:us-east-1:123456789012:UploadsBucket if StringLikeIfExists s3:prefix attachments/*, beyond",
  },
  {
    copy: "B",
    file: "infra/tasks.ts",
    from: "link: [database, taskQueue, secrets.SentryDsn, attachmentStore,",
    to: "link: [database, taskQueue, secrets.SentryDsn,",
    caught: "the worker is not linked to AttachmentStore",
  },
  // The Router's distribution without the security headers policy.
  {
    copy: "A",
    file: "infra/web.ts",
    from: "responseHeadersPolicyId: siteHeaders.id",
    to: "responseHeadersPolicyId: undefined",
    caught: "the distribution sends no security headers",
  },
  // A CSP that lets the page send data anywhere.
  {
    copy: "B",
    file: "infra/web.ts",
    from: "contentSecurityPolicy([origin])",
    to: 'contentSecurityPolicy([origin, "https:"])',
    caught:
      "CSP connect-src is \"'self' https://UploadsBucket-id.s3.us-east-1.amazonaws.com https:\"",
  },
];

beforeAll(async () => {
  const copy = (id: string) =>
    copyConfig(
      `broken-${id}`,
      breakages.filter((b) => b.copy === id),
    );
  const [production, staging, dev, brokenA, brokenB] = await Promise.all([
    evaluate({ stage: "production" }),
    evaluate({ stage: "staging" }),
    evaluate({ stage: "staging", dev: true }),
    evaluate({ stage: "production", config: copy("A") }),
    evaluate({ stage: "production", config: copy("B") }),
  ]);
  Object.assign(graphs, { production, staging, dev, brokenA, brokenB });
}, 180_000);

describe.each(["production", "staging", "dev"] as const)("the %s stage", (kind) => {
  it.each(Object.keys(checks))("%s", (name) => {
    const found = violations(graphs[kind], kind).filter((v) => v.startsWith(`${name}: `));
    expect(found).toEqual([]);
  });
});

describe("the checks bite", () => {
  it.each(breakages)("$file: $from -> $to is caught", ({ copy, caught }) => {
    const broken = copy === "A" ? graphs.brokenA : graphs.brokenB;
    expect(violations(broken, "production").join("\n")).toContain(caught);
  });
});

describe("resource graph facts", () => {
  it("production and staging differ only where the design says", () => {
    const count = (e: Evaluation, type: string) =>
      e.resources.filter((r) => r.type === type).length;
    for (const type of [
      "aws:rds/instance:Instance",
      "aws:ecs/service:Service",
      "aws:lambda/invocation:Invocation",
    ]) {
      expect(count(graphs.production, type)).toBe(1);
      expect(count(graphs.staging, type)).toBe(1);
      expect(count(graphs.dev, type)).toBe(0);
    }
  });
});

describe("cost", () => {
  it.each(["production", "staging"] as const)(
    "%s: idle cost stays within its budget (infra/budgets.ts)",
    (stage) => {
      const report = price(graphs[stage], 0);
      const budget = budgetFor(stage);
      const message = `${stage} idles at $${report.idle}, over its $${budget} budget; grew: ${grown(report, readBaseline()).join("; ")}`;
      expect(report.idle, message).toBeLessThanOrEqual(budget);
    },
  );

  it.each(["production", "staging"] as const)(
    "%s: the cost baseline is current (after an infra change: npm run cost -- --write-baseline)",
    (stage) => {
      expect(baselineEntry(price(graphs[stage], 0))).toEqual(readBaseline()[stage]);
    },
  );

  it("a resource type with no price fails the budget, naming the type and the resource", () => {
    // A deliberate breakage: the real production graph plus a resource nobody priced.
    const invented = {
      type: "aws:imaginary/widget:Widget",
      name: "MysteryWidget",
      custom: true,
      dependsOn: [],
      inputs: {},
    };
    const broken = { ...graphs.production, resources: [...graphs.production.resources, invented] };
    expect(() => price(broken, 0)).toThrow("aws:imaginary/widget:Widget: MysteryWidget");
  });

  it("a change that adds cost fails the budget and names what grew", () => {
    // Copy A swaps fck-nat for managed NAT gateways (among its breakages).
    const report = price(graphs.brokenA, 0);
    expect(report.idle).toBeGreaterThan(budgets.production);
    expect(grown(report, readBaseline()).join("\n")).toMatch(/VpcNatGateway1: \$0\.00 -> \$32\.85/);
  });
});
