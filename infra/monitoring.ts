import { gateway } from "./api";
import { databaseInstance } from "./database";
import { variables } from "./stage";
import { deadLetters, worker } from "./tasks";

/**
 * Alarms for what needs a person: work piling up in the dead-letter queue, the API failing,
 * the worker failing, the database running hot or out of space. All go to one SNS topic, which
 * emails SLIPWAY_ALARM_EMAIL when set. $0.10 per alarm per month.
 */
export const alarmTopic = new aws.sns.Topic("Alarms");

if (variables.alarmEmail) {
  new aws.sns.TopicSubscription("AlarmsEmail", {
    topic: alarmTopic.arn,
    protocol: "email",
    endpoint: variables.alarmEmail,
  });
}

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
          "Tasks failed 5 times and wait in the dead-letter queue (npm run tasks -- dlq)",
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
        alarmDescription: "More than 1% of API requests answer 5xx over 5 minutes",
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
        alarmDescription: "The task worker Lambda errored (beyond task failures it reports)",
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
        alarmDescription: "Database CPU above 80% for 15 minutes",
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
      new aws.cloudwatch.MetricAlarm("AlarmDatabaseStorage", {
        alarmDescription: "Database free storage below 2 GB",
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
    ];
