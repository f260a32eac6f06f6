import { schedules } from "../packages/core/src/schedules";
import {
  DEAD_LETTER_RETENTION_DAYS,
  MAX_RECEIVE_COUNT,
  scheduleMessage,
} from "../packages/core/src/task/queue-policy";
import { lambdaNodejs } from "./bundling";
import { cacheLinks } from "./cache";
import { APP_DATABASE_SSL, appDatabase, migration } from "./database";
import { email, sendPermissions } from "./email";
import { lambdaOnlyTrust } from "./iam";
import { securityGroups, vpc } from "./network";
import { secrets } from "./secrets";
import { sizing, variables } from "./stage";
import { attachmentStore, workerAttachmentPermissions } from "./storage";
import { siteOrigin } from "./web";

/**
 * Background tasks: outbox → SQS → the worker Lambda (partial batch responses), and EventBridge
 * Scheduler sending each schedule's message straight to the queue. CronV2 cannot target a queue
 * (anomalyco/sst#5385), so schedules are raw `aws.scheduler.Schedule`s with an SQS target: no
 * extra function between the scheduler and the queue.
 */

const WORKER_TIMEOUT_SECONDS = 60;

/**
 * Linking a Queue grants `sqs:*` on it (SST's link). Here a link carries only the URL the app
 * reads (`Resource.TaskQueue.url`); what each role may do with a queue is granted explicitly.
 */
sst.Linkable.wrap(sst.aws.Queue, (queue) => ({ properties: { url: queue.url } }));

export const deadLetters = new sst.aws.Queue("TaskDeadLetters", {
  // SQS's maximum, so a failure found on a Monday is still there to redrive.
  transform: { queue: { messageRetentionSeconds: DEAD_LETTER_RETENTION_DAYS * 86_400 } },
});

export const taskQueue = new sst.aws.Queue("TaskQueue", {
  // AWS advises at least 6x the function timeout, so retries of a batch cannot overlap it.
  visibilityTimeout: `${6 * WORKER_TIMEOUT_SECONDS} seconds`,
  dlq: { queue: deadLetters.arn, retry: MAX_RECEIVE_COUNT },
});

/** The outbox relay: SendMessageBatch, which IAM authorizes as sqs:SendMessage. */
export const enqueuePermissions: sst.aws.FunctionPermissionArgs[] = [
  { actions: ["sqs:SendMessage"], resources: [taskQueue.arn] },
];

/**
 * The operator console, in the API (ADR 028): both queues' counts; one dead letter found
 * (receive), moved back (send, then delete) or deleted, and the others it looked at released
 * (ChangeMessageVisibilityBatch authorizes as sqs:ChangeMessageVisibility); every dead letter
 * moved back by StartMessageMoveTask, which also needs receive, delete and attributes on its
 * source and send on the destination (its own queue, in enqueuePermissions). The queues' oldest
 * ages are CloudWatch metrics: GetMetricData takes no resource-level permission, so `*`.
 */
export const consolePermissions: sst.aws.FunctionPermissionArgs[] = [
  { actions: ["sqs:GetQueueAttributes"], resources: [taskQueue.arn, deadLetters.arn] },
  {
    actions: [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:StartMessageMoveTask",
    ],
    resources: [deadLetters.arn],
  },
  { actions: ["cloudwatch:GetMetricData"], resources: ["*"] },
];

/**
 * What Lambda's SQS event source mapping needs of the execution role (AWS's
 * AWSLambdaSQSQueueExecutionRole). The redrive (StartMessageMoveTask) is an operator's: the
 * console's, in the API (consolePermissions), or `npm run tasks` under `sst shell` with the
 * operator's own credentials; never the worker's.
 */
const consumePermissions: sst.aws.FunctionPermissionArgs[] = [
  {
    actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
    resources: [taskQueue.arn],
  },
];

export const worker = new sst.aws.Function("Worker", {
  handler: "packages/functions/src/worker.handler",
  runtime: "nodejs22.x",
  architecture: "arm64",
  timeout: `${WORKER_TIMEOUT_SECONDS} seconds`,
  memory: "512 MB",
  nodejs: lambdaNodejs,
  vpc: { privateSubnets: vpc.privateSubnets, securityGroups: [securityGroups.worker.id] },
  // Its handlers use the database (as the app role); tasks may enqueue tasks (relayed to this
  // queue); mail.deliver sends through SES when an identity is configured; attachment tasks read
  // and delete uploads. No link grants anything: `permissions` is all the worker may do.
  link: [
    appDatabase,
    taskQueue,
    secrets.SentryDsn,
    attachmentStore,
    ...cacheLinks,
    ...(email ? [email] : []),
  ],
  permissions: [
    ...workerAttachmentPermissions,
    ...consumePermissions,
    ...enqueuePermissions,
    ...sendPermissions,
  ],
  environment: {
    DATABASE_POOL_MAX: String(sizing.worker.poolMax),
    DATABASE_SSL: APP_DATABASE_SSL,
    SLIPWAY_RELEASE: variables.release,
    // Account mail (verification, password reset, email change) is written by the worker.
    SITE_URL: siteOrigin,
  },
  logging: { retention: sizing.logRetention },
  transform: {
    role: lambdaOnlyTrust,
    // It logs in as the app role, which the migrator creates: on a first deploy a worker started
    // before the migration would fail every task toward the dead-letter queue.
    function: (_args, opts) => {
      if (migration) opts.dependsOn = [migration];
    },
  },
});

taskQueue.subscribe(worker.arn, {
  batch: { size: 10, partialResponses: true },
  transform: {
    // Caps concurrent workers without Lambda throttling (which would count as failed receives).
    eventSourceMapping: { scalingConfig: { maximumConcurrency: sizing.worker.maxConcurrency } },
  },
});

const schedulerRole = new aws.iam.Role("TaskSchedulerRole", {
  assumeRolePolicy: aws.iam.getPolicyDocumentOutput({
    statements: [
      {
        actions: ["sts:AssumeRole"],
        principals: [{ type: "Service", identifiers: ["scheduler.amazonaws.com"] }],
      },
    ],
  }).json,
  inlinePolicies: [
    {
      name: "send-tasks",
      policy: aws.iam.getPolicyDocumentOutput({
        statements: [{ actions: ["sqs:SendMessage"], resources: [taskQueue.arn, deadLetters.arn] }],
      }).json,
    },
  ],
});

/** One EventBridge schedule per entry of the app's schedule list. */
export const taskSchedules = schedules.map(
  (schedule) =>
    new aws.scheduler.Schedule(`TaskSchedule-${schedule.name}`, {
      description: schedule.description ?? `${schedule.task} on ${schedule.expression}`,
      scheduleExpression: schedule.expression,
      scheduleExpressionTimezone: schedule.timezone,
      flexibleTimeWindow: { mode: "OFF" },
      target: {
        arn: taskQueue.arn,
        roleArn: schedulerRole.arn,
        // The same message the offline scheduler sends: an envelope the worker reads.
        input: scheduleMessage(schedule),
        retryPolicy: { maximumRetryAttempts: 10, maximumEventAgeInSeconds: 3600 },
        deadLetterConfig: { arn: deadLetters.arn },
      },
    }),
);
