import { Ajv } from "ajv";

/**
 * Checks a log line against CloudWatch's Embedded Metric Format specification
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
 * the `_aws` metadata object and its MetricDirectives (a JSON schema: the spec's objects admit no
 * other members), then what a schema cannot say: every dimension and metric a directive names is
 * a member of the root, dimensions are strings, and a metric's value is a number, an array of at
 * most 100 numbers, or the aggregated form (Values/Counts of equal length, at most 100, with the
 * statistic set Max, Min, Count, Sum).
 */

const UNITS = [
  "Seconds",
  "Microseconds",
  "Milliseconds",
  "Bytes",
  "Kilobytes",
  "Megabytes",
  "Gigabytes",
  "Terabytes",
  "Bits",
  "Kilobits",
  "Megabits",
  "Gigabits",
  "Terabits",
  "Percent",
  "Count",
  "Bytes/Second",
  "Kilobytes/Second",
  "Megabytes/Second",
  "Gigabytes/Second",
  "Terabytes/Second",
  "Bits/Second",
  "Kilobits/Second",
  "Megabits/Second",
  "Gigabits/Second",
  "Terabits/Second",
  "Count/Second",
  "None",
];

const schema = {
  type: "object",
  required: ["_aws"],
  properties: {
    _aws: {
      type: "object",
      additionalProperties: false,
      required: ["Timestamp", "CloudWatchMetrics"],
      properties: {
        Timestamp: { type: "integer", minimum: 0 },
        CloudWatchMetrics: {
          type: "array",
          minItems: 1,
          items: {
            type: "object",
            additionalProperties: false,
            required: ["Namespace", "Dimensions", "Metrics"],
            properties: {
              Namespace: {
                type: "string",
                minLength: 1,
                maxLength: 255,
                pattern: "^[a-zA-Z0-9._#:/-]+$",
              },
              Dimensions: {
                type: "array",
                items: {
                  type: "array",
                  maxItems: 30,
                  items: { type: "string", minLength: 1, maxLength: 255 },
                },
              },
              Metrics: {
                type: "array",
                minItems: 1,
                maxItems: 100,
                items: {
                  type: "object",
                  additionalProperties: false,
                  required: ["Name"],
                  properties: {
                    Name: { type: "string", minLength: 1, maxLength: 1024 },
                    Unit: { enum: UNITS },
                    StorageResolution: { enum: [1, 60] },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

const validate = new Ajv({ allErrors: true }).compile(schema);

const finite = (value: unknown) => typeof value === "number" && Number.isFinite(value);

function valueProblems(name: string, value: unknown): string[] {
  if (finite(value)) return [];
  if (Array.isArray(value))
    return value.length <= 100 && value.every(finite)
      ? []
      : [`${name}: an array of more than 100 values or of non-numbers`];
  if (value && typeof value === "object") {
    const v = value as Record<string, unknown>;
    const problems: string[] = [];
    const keys = Object.keys(v).sort().join(",");
    if (keys !== "Count,Counts,Max,Min,Sum,Values") problems.push(`${name}: members ${keys}`);
    const values = v.Values as unknown[];
    const counts = v.Counts as unknown[];
    if (!Array.isArray(values) || !Array.isArray(counts) || values.length !== counts.length)
      problems.push(`${name}: Values and Counts differ in length`);
    else if (values.length === 0 || values.length > 100)
      problems.push(`${name}: ${values.length} values (1 to 100)`);
    else if (!values.every(finite) || !counts.every((c) => finite(c) && (c as number) > 0))
      problems.push(`${name}: a value or count is not a positive number`);
    else if (counts.reduce((a: number, c) => a + (c as number), 0) !== v.Count)
      problems.push(`${name}: Counts do not add up to Count`);
    for (const stat of ["Max", "Min", "Count", "Sum"])
      if (!finite(v[stat])) problems.push(`${name}: ${stat} is not a number`);
    if (finite(v.Min) && finite(v.Max) && (v.Min as number) > (v.Max as number))
      problems.push(`${name}: Min > Max`);
    return problems;
  }
  return [`${name}: ${JSON.stringify(value)} is not a metric value`];
}

/** What makes `document` not a valid EMF document (empty: it is one). */
export function emfProblems(document: unknown): string[] {
  if (!validate(document))
    return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`);
  const root = document as Record<string, unknown> & {
    _aws: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] };
  };
  const problems: string[] = [];
  for (const directive of root._aws.CloudWatchMetrics) {
    for (const dimension of directive.Dimensions.flat()) {
      const value = root[dimension];
      if (typeof value !== "string" || value.length === 0 || value.length > 1024)
        problems.push(`dimension ${dimension}: ${JSON.stringify(value)} is not a string value`);
    }
    for (const { Name } of directive.Metrics) {
      if (!(Name in root)) problems.push(`metric ${Name}: no member of that name`);
      else problems.push(...valueProblems(Name, root[Name]));
    }
  }
  return problems;
}

/** The EMF documents among JSON log lines. */
export const emfDocuments = (lines: readonly Record<string, unknown>[]) =>
  lines.filter((line) => line._aws !== undefined);
