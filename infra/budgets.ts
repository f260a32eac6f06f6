/**
 * Monthly budget per stage, idle (the stage exists and serves nothing), in USD. The budget test
 * (infra/tests/graph.test.ts) prices the evaluated graph against it and names what grew.
 * Tighten a budget when the design gets cheaper; loosen one only with the reason written here.
 */
export const budgets = {
  // Multi-AZ db.t4g.micro + storage ≈ $28, one ARM task ≈ $7, two fck-nat + IPv4 ≈ $13.5, and
  // the Route 53 private hosted zone behind SST's Cloud Map namespace ($0.50, priced only once
  // every resource type had to be priced or listed free): measured $50.10, so $51 (2026-12-01).
  // Issue 20 (metrics, dashboard, alarms): the dashboard ($3), four alarms and the 5xx alarm's
  // second metric ($0.50), the schedules' task metrics idle ($0.63): measured $54.23, so $55
  // (2026-12-01). A preview gets no dashboard for this reason.
  production: 55,
  // Issue 9 started from $30. SST's Postgres always adds a Secrets Manager secret ($0.40), the two
  // NAT instances need an IPv4 address each ($7.30) and the five alarms cost $0.50: measured
  // $30.69, so $31 (2026-11-22). The Cloud Map namespace's hosted zone adds $0.50 that was there
  // all along but unpriced: measured $31.19, so $32 (2026-12-01).
  // Issue 20 adds the same $4.13 here: ~$35.32, so $36 (2026-12-01).
  other: 36,
  // A preview (pr-42, a developer's stage) on staging's VPC and RDS instance (ADR 026): one
  // Fargate Spot task and its Cloud Map instance, $2.37 measured (2026-12-01); the goal is $5.
  preview: 5,
} as const;

// Issue 15 (security hardening) adds no idle cost: the API's secrets are SSM standard parameters
// (free), the security groups, origin request policy and IAM are free. RDS storage autoscaling
// (20 GB allocated, up to 100 GB) is priced as allocated; grown to its ceiling it would add
// $18.40 in production (Multi-AZ) and $9.20 elsewhere, which a budget change would have to state.

/** production, staging, and every other stage as a preview sharing staging's (ADR 026). */
export const budgetFor = (stage: string) =>
  stage === "production"
    ? budgets.production
    : stage === "staging"
      ? budgets.other
      : budgets.preview;
