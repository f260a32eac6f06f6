/// <reference path="./.sst/platform/config.d.ts" />

export default $config({
  app(input) {
    const production = input?.stage === "production";
    return {
      name: "slipway",
      home: "aws",
      // Production keeps its data (database, bucket, VPC) even if the stage is removed, and
      // `sst remove` refuses to run on it; every other stage removes cleanly.
      removal: production ? "retain" : "remove",
      protect: production,
      providers: { aws: { region: process.env.AWS_REGION ?? "us-east-1" } },
    };
  },
  async run() {
    // In dependency order; each file exports what the next ones link.
    const { isProduction } = await import("./infra/stage");
    await import("./infra/secrets");
    const { vpc } = await import("./infra/network");
    const { databaseConnection } = await import("./infra/database");
    await import("./infra/cache");
    await import("./infra/storage");
    const { router } = await import("./infra/web");
    await import("./infra/email");
    const { taskQueue } = await import("./infra/tasks");
    const { gateway } = await import("./infra/api");
    const { dashboardUrl } = await import("./infra/monitoring");

    return {
      url: router.url,
      api: gateway.url,
      vpc: vpc.id,
      database: databaseConnection.host,
      taskQueue: taskQueue.url,
      // The stage's CloudWatch dashboard (infra/monitoring.ts); none under sst dev or on a preview.
      ...(dashboardUrl ? { dashboard: dashboardUrl } : {}),
      production: isProduction,
    };
  },
});
