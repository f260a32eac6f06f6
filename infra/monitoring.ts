import {
  METRICS,
  METRICS_NAMESPACE,
  ROUTE_GROUPS,
  TASK_NAMES,
} from "../packages/core/src/observability/metric-catalog";
import { cluster, gateway, service } from "./api";
import { databaseCluster, databaseInstance, databaseReplica } from "./database";
import { sizing, variables } from "./stage";
import { deadLetters, taskQueue, worker } from "./tasks";

/**
 * Alarms for what needs a person: work piling up in the dead-letter queue or waiting too long,
 * the API failing, slow or down, the worker failing, the database running hot or out of space, a
 * burst of failed sign-ins. Each description starts with what it means and says what to check
 * first (README, "Alarms"). All go to one SNS topic, which emails SLIPWAY_ALARM_EMAIL when set.
 * $0.10 per alarm metric per month. And one dashboard per stage that has its own API (ADR 030).
 */
export const alarmTopic = new aws.sns.Topic("Alarms");

if (variables.alarmEmail) {
  new aws.sns.TopicSubscription("AlarmsEmail", {
    topic: alarmTopic.arn,
    protocol: "email",
    endpoint: variables.alarmEmail,
  });
}

/** What pages someone (README, "Alarms"). */
export const thresholds = {
  /** The API's p99 over 5-minute periods, twice in a row. */
  p99LatencyMs: 1000,
  /** The oldest task in the queue (the worker normally takes one within seconds). */
  oldestTaskMinutes: 15,
  /** Failed sign-ins in 5 minutes across the stage: guessing, or a broken sign-in form. */
  loginFailuresPer5Minutes: 30,
};

const notify = {
  alarmActions: [alarmTopic.arn],
  okActions: [alarmTopic.arn],
  treatMissingData: "notBreaching",
};

// Under `sst dev` there is no RDS instance (nor a deployed API) to watch; a preview's instance is
// its base's, which the base's alarms watch, and nobody is paged for a preview.
const instance = databaseInstance;

export const alarms = !instance
  ? []
  : [
      new aws.cloudwatch.MetricAlarm("AlarmDeadLetters", {
        alarmDescription:
          "Tasks failed 5 times and wait in the dead-letter queue. Check first: npm run tasks -- dlq (which task, its error), then the worker's logs for that taskId.",
        namespace: "AWS/SQS",
        metricName: "ApproximateNumberOfMessagesVisible",
        dimensions: { QueueName: deadLetters.nodes.queue.name },
        statistic: "Maximum",
        period: 300,
        evaluationPeriods: 1,
        threshold: 0,
        comparisonOperator: "GreaterThanThreshold",
        ...notify,
      }),
      new aws.cloudwatch.MetricAlarm("AlarmApi5xx", {
        alarmDescription:
          "More than 1% of API requests answer 5xx over 5 minutes. Check first: the dashboard's 5xx by route group, then the API's error lines (Logs Insights: level = 'error') and Sentry.",
        // A rate: 5xx / requests, so a quiet API with one error does not page anyone.
        metricQueries: [
          {
            id: "errors",
            metric: {
              namespace: "AWS/ApiGateway",
              metricName: "5xx",
              dimensions: { ApiId: gateway.nodes.api.id },
              period: 300,
              stat: "Sum",
            },
          },
          {
            id: "requests",
            metric: {
              namespace: "AWS/ApiGateway",
              metricName: "Count",
              dimensions: { ApiId: gateway.nodes.api.id },
              period: 300,
              stat: "Sum",
            },
          },
          {
            id: "rate",
            expression: "IF(requests > 20, 100 * errors / requests, 0)",
            label: "5xx %",
            returnData: true,
          },
        ],
        evaluationPeriods: 1,
        threshold: 1,
        comparisonOperator: "GreaterThanThreshold",
        ...notify,
      }),
      new aws.cloudwatch.MetricAlarm("AlarmWorkerErrors", {
        alarmDescription:
          "The task worker Lambda errored (beyond task failures it reports). Check first: the worker's log group for the invocation's error (a timeout, an import failure, the database unreachable).",
        namespace: "AWS/Lambda",
        metricName: "Errors",
        dimensions: { FunctionName: worker.name },
        statistic: "Sum",
        period: 300,
        evaluationPeriods: 1,
        threshold: 0,
        comparisonOperator: "GreaterThanThreshold",
        ...notify,
      }),
      new aws.cloudwatch.MetricAlarm("AlarmDatabaseCpu", {
        alarmDescription:
          "Database CPU above 80% for 15 minutes. Check first: RDS Performance Insights' top SQL, then the dashboard's request and task rates (a burst, a runaway task).",
        namespace: "AWS/RDS",
        metricName: "CPUUtilization",
        dimensions: {
          DBInstanceIdentifier: instance.identifier,
        },
        statistic: "Average",
        period: 300,
        evaluationPeriods: 3,
        threshold: 80,
        comparisonOperator: "GreaterThanThreshold",
        ...notify,
      }),
      // SLIPWAY_READ_REPLICAS=1: note lists and the console's table browser read the replica.
      ...(databaseReplica
        ? [
            new aws.cloudwatch.MetricAlarm("AlarmReplicaLag", {
              alarmDescription:
                "The read replica is more than 10 minutes behind the primary for 15 minutes: note lists and the console's table browser show that old a state. Check first: the replica's CPU and write IOPS beside the primary's (a replica too small for the writes), then long queries on it (ADR 034).",
              namespace: "AWS/RDS",
              metricName: "ReplicaLag",
              dimensions: { DBInstanceIdentifier: databaseReplica.identifier },
              statistic: "Maximum",
              period: 300,
              evaluationPeriods: 3,
              // An idle primary makes a PostgreSQL replica report up to 5 minutes of lag (AWS:
              // "Read replica limitations with PostgreSQL"): below that is no signal.
              threshold: 600,
              comparisonOperator: "GreaterThanThreshold",
              ...notify,
            }),
          ]
        : []),
      databaseCluster
        ? // Aurora's volume grows on its own (no free space to run out of): what grows is the bill.
          new aws.cloudwatch.MetricAlarm("AlarmDatabaseStorage", {
            alarmDescription: `Aurora volume above ${sizing.database.maxStorageGb} GB (the RDS instance's storage ceiling). Check first: the largest tables (the outbox, receipts, sessions: their pruning ran?).`,
            namespace: "AWS/RDS",
            metricName: "VolumeBytesUsed",
            dimensions: { DBClusterIdentifier: databaseCluster.clusterIdentifier },
            statistic: "Maximum",
            period: 3600,
            evaluationPeriods: 1,
            threshold: sizing.database.maxStorageGb * 1024 ** 3,
            comparisonOperator: "GreaterThanThreshold",
            ...notify,
          })
        : new aws.cloudwatch.MetricAlarm("AlarmDatabaseStorage", {
            alarmDescription:
              "Database free storage below 2 GB. Check first: that storage autoscaling is growing the volume (RDS events), then the largest tables (the outbox, receipts, sessions: their pruning ran?).",
            namespace: "AWS/RDS",
            metricName: "FreeStorageSpace",
            dimensions: {
              DBInstanceIdentifier: instance.identifier,
            },
            statistic: "Minimum",
            period: 300,
            evaluationPeriods: 1,
            threshold: 2 * 1024 ** 3,
            comparisonOperator: "LessThanThreshold",
            ...notify,
          }),
      new aws.cloudwatch.MetricAlarm("AlarmApiLatency", {
        alarmDescription: `API p99 latency above ${thresholds.p99LatencyMs} ms for 10 minutes. Check first: the dashboard's p99 by route group (which one is slow), then database CPU and read latency, then ECS CPU (scaling at its max?).`,
        // API Gateway's, not the EMF one: one series for the whole API (percentiles of several
        // route groups cannot be combined), and it counts what the client waited, VPC link included.
        namespace: "AWS/ApiGateway",
        metricName: "Latency",
        dimensions: { ApiId: gateway.nodes.api.id },
        extendedStatistic: "p99",
        period: 300,
        evaluationPeriods: 2,
        threshold: thresholds.p99LatencyMs,
        comparisonOperator: "GreaterThanThreshold",
        ...notify,
      }),
      new aws.cloudwatch.MetricAlarm("AlarmOldestTask", {
        alarmDescription: `A task has waited in the queue more than ${thresholds.oldestTaskMinutes} minutes. Check first: the worker's errors and throttles (reserved concurrency ${sizing.worker.maxConcurrency}) on the dashboard, then which task waits (TaskQueueAge by task) and its logs.`,
        namespace: "AWS/SQS",
        metricName: "ApproximateAgeOfOldestMessage",
        dimensions: { QueueName: taskQueue.nodes.queue.name },
        statistic: "Maximum",
        period: 300,
        evaluationPeriods: 1,
        threshold: thresholds.oldestTaskMinutes * 60,
        comparisonOperator: "GreaterThanThreshold",
        ...notify,
      }),
      new aws.cloudwatch.MetricAlarm("AlarmApiTasksBelowMinimum", {
        alarmDescription: `Fewer API tasks run than the minimum (${sizing.api.minTasks}) for 5 minutes. Check first: the ECS service's events (a task failing its health check, a failed deploy rolled back, Spot capacity), then the API's last log lines before it stopped.`,
        // ECS reports a service's CPU only while a task runs: each running task adds samples, and
        // with none there is no data, which here means breaching. Exact for the minimum of 1
        // every stage has; a minimum above 1 would need Container Insights' RunningTaskCount.
        namespace: "AWS/ECS",
        metricName: "CPUUtilization",
        dimensions: {
          ClusterName: cluster.nodes.cluster.name,
          ServiceName: service.nodes.service.name,
        },
        statistic: "SampleCount",
        period: 60,
        evaluationPeriods: 5,
        threshold: sizing.api.minTasks,
        comparisonOperator: "LessThanThreshold",
        ...notify,
        treatMissingData: "breaching",
      }),
      new aws.cloudwatch.MetricAlarm("AlarmLoginFailures", {
        alarmDescription: `More than ${thresholds.loginFailuresPer5Minutes} failed sign-ins in 5 minutes. Check first: the API's 401s on /api/auth/login by client address (Logs Insights), whether the login limits are refusing them (RateLimited on the dashboard), then the account lockouts (ADR 019).`,
        namespace: METRICS_NAMESPACE,
        metricName: "LoginFailures",
        dimensions: { Stage: $app.stage },
        statistic: "Sum",
        period: 300,
        evaluationPeriods: 1,
        threshold: thresholds.loginFailuresPer5Minutes,
        comparisonOperator: "GreaterThanThreshold",
        // Written only when non-zero (observability/metrics.ts): no data is no failure.
        ...notify,
      }),
    ];

// ---------------------------------------------------------------- dashboard

const region = aws.getRegionOutput().region;
/** One line of a widget: [namespace, metric, ...dimension name/value pairs, options]. */
type Line = ($util.Input<string> | Record<string, unknown>)[];
const emf = (
  metric: string,
  dimensions: Record<string, string>,
  options: Record<string, unknown>,
): Line => [
  METRICS_NAMESPACE,
  metric,
  "Stage",
  $app.stage,
  ...Object.entries(dimensions).flat(),
  options,
];
const graph = (title: string, metrics: Line[], extra: Record<string, unknown> = {}) => ({
  type: "metric",
  width: 8,
  height: 6,
  properties: { title, region, view: "timeSeries", stacked: false, period: 300, metrics, ...extra },
});
// Functions: under `sst dev` a Service's nodes cannot be read at all, and no dashboard is made.
const api = () => ({ ApiId: gateway.nodes.api.id });
const ecs = () => ({
  ClusterName: cluster.nodes.cluster.name,
  ServiceName: service.nodes.service.name,
});
const dims = (d: Record<string, $util.Input<string>>) => Object.entries(d).flat();

/**
 * The stage on one page: what users get (requests, latency, 5xx: API Gateway's and the app's own
 * by route group), what serves them (ECS, RDS), the tasks (queue, dead letters, worker, the app's
 * per-task metrics), sign-in failures and rate limiting, and every alarm's state. $3 a month
 * (ADR 030), so only a stage with its own database and alarms has one: a preview watches nothing.
 */
export const dashboard = !instance
  ? undefined
  : new aws.cloudwatch.Dashboard("Dashboard", {
      dashboardName: `${$app.name}-${$app.stage}`,
      dashboardBody: $jsonStringify({
        widgets: [
          graph("API requests and 5xx (API Gateway)", [
            ["AWS/ApiGateway", "Count", ...dims(api()), { stat: "Sum", label: "requests" }],
            ["AWS/ApiGateway", "5xx", ...dims(api()), { stat: "Sum", label: "5xx" }],
            ["AWS/ApiGateway", "4xx", ...dims(api()), { stat: "Sum", label: "4xx" }],
          ]),
          graph("API latency p50 / p99 (API Gateway), ms", [
            ["AWS/ApiGateway", "Latency", ...dims(api()), { stat: "p50", label: "p50" }],
            ["AWS/ApiGateway", "Latency", ...dims(api()), { stat: "p99", label: "p99" }],
          ]),
          {
            type: "alarm",
            width: 8,
            height: 6,
            properties: { title: "Alarms", alarms: alarms.map((a) => a.arn) },
          },
          graph(
            "Requests by route group (app)",
            ROUTE_GROUPS.map((g) =>
              emf("Latency", { RouteGroup: g }, { stat: "SampleCount", label: g }),
            ),
          ),
          graph(
            "p99 latency by route group (app), ms",
            ROUTE_GROUPS.map((g) => emf("Latency", { RouteGroup: g }, { stat: "p99", label: g })),
          ),
          graph(
            "5xx by route group (app)",
            ROUTE_GROUPS.map((g) => emf("Errors5xx", { RouteGroup: g }, { stat: "Sum", label: g })),
          ),
          graph("API tasks: CPU and memory %", [
            ["AWS/ECS", "CPUUtilization", ...dims(ecs()), { stat: "Average", label: "CPU" }],
            ["AWS/ECS", "MemoryUtilization", ...dims(ecs()), { stat: "Average", label: "memory" }],
          ]),
          graph(
            "API tasks running (samples per minute ÷ 3)",
            [
              [{ expression: "CEIL(samples / 3)", label: "tasks", id: "tasks" }],
              [
                "AWS/ECS",
                "CPUUtilization",
                ...dims(ecs()),
                { stat: "SampleCount", id: "samples", visible: false },
              ],
            ],
            { period: 60 },
          ),
          graph("Database CPU % and connections", [
            [
              "AWS/RDS",
              "CPUUtilization",
              "DBInstanceIdentifier",
              instance.identifier,
              { stat: "Average", label: "CPU %" },
            ],
            [
              "AWS/RDS",
              "DatabaseConnections",
              "DBInstanceIdentifier",
              instance.identifier,
              { stat: "Maximum", label: "connections", yAxis: "right" },
            ],
          ]),
          databaseCluster
            ? graph("Aurora volume used, bytes", [
                [
                  "AWS/RDS",
                  "VolumeBytesUsed",
                  "DBClusterIdentifier",
                  databaseCluster.clusterIdentifier,
                  { stat: "Maximum", label: "used" },
                ],
              ])
            : graph("Database free storage, bytes", [
                [
                  "AWS/RDS",
                  "FreeStorageSpace",
                  "DBInstanceIdentifier",
                  instance.identifier,
                  { stat: "Minimum", label: "free" },
                ],
              ]),
          graph("Database read / write latency, s", [
            [
              "AWS/RDS",
              "ReadLatency",
              "DBInstanceIdentifier",
              instance.identifier,
              { stat: "Average", label: "read" },
            ],
            [
              "AWS/RDS",
              "WriteLatency",
              "DBInstanceIdentifier",
              instance.identifier,
              { stat: "Average", label: "write" },
            ],
          ]),
          graph("Task queue: depth, oldest (s), dead letters", [
            [
              "AWS/SQS",
              "ApproximateNumberOfMessagesVisible",
              "QueueName",
              taskQueue.nodes.queue.name,
              { stat: "Maximum", label: "waiting" },
            ],
            [
              "AWS/SQS",
              "ApproximateAgeOfOldestMessage",
              "QueueName",
              taskQueue.nodes.queue.name,
              { stat: "Maximum", label: "oldest (s)", yAxis: "right" },
            ],
            [
              "AWS/SQS",
              "ApproximateNumberOfMessagesVisible",
              "QueueName",
              deadLetters.nodes.queue.name,
              { stat: "Maximum", label: "dead letters" },
            ],
          ]),
          graph("Worker: invocations, errors, throttles", [
            [
              "AWS/Lambda",
              "Invocations",
              "FunctionName",
              worker.name,
              { stat: "Sum", label: "invocations" },
            ],
            ["AWS/Lambda", "Errors", "FunctionName", worker.name, { stat: "Sum", label: "errors" }],
            [
              "AWS/Lambda",
              "Throttles",
              "FunctionName",
              worker.name,
              { stat: "Sum", label: "throttles" },
            ],
          ]),
          graph("Worker duration p50 / p99, ms", [
            ["AWS/Lambda", "Duration", "FunctionName", worker.name, { stat: "p50", label: "p50" }],
            ["AWS/Lambda", "Duration", "FunctionName", worker.name, { stat: "p99", label: "p99" }],
          ]),
          graph(
            "Task p99 duration by task (app), ms",
            TASK_NAMES.map((t) => emf("TaskDuration", { Task: t }, { stat: "p99", label: t })),
          ),
          graph(
            "Task failures by task (app)",
            TASK_NAMES.map((t) => emf("TaskFailures", { Task: t }, { stat: "Sum", label: t })),
          ),
          graph(
            "Task p99 queue age by task (app), ms",
            TASK_NAMES.map((t) => emf("TaskQueueAge", { Task: t }, { stat: "p99", label: t })),
          ),
          graph(
            "Sign-in failures and rate-limited requests (app)",
            Object.keys(METRICS.security.metrics).map((m) => emf(m, {}, { stat: "Sum", label: m })),
          ),
        ],
      }),
    });

/** The dashboard in the console (the stage's outputs and the README). */
export const dashboardUrl = dashboard
  ? $interpolate`https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${dashboard.dashboardName}`
  : undefined;
