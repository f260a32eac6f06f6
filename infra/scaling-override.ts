/**
 * The API's pre-emptive scaling override (`npm run scale`, ADR 032), as both sides read it: the
 * CLI writes the record when it raises the service's minimum, and every deploy reads it, so a
 * deploy during an override keeps the raised bounds instead of registering the configured ones
 * over them. Plain TypeScript (no SST globals): scripts/scale and infra/api.ts import it.
 */

export interface ScalingBounds {
  min: number;
  max: number;
}

/** What the CLI records (a Standard SSM String parameter: free). */
export interface ScalingOverride extends ScalingBounds {
  /** ISO time the scheduled action returns the service to `configured`; null: until --reset. */
  until: string | null;
  /** The bounds the stage was deployed with when the override was set (what it returns to). */
  configured: ScalingBounds;
  /** When and by whom (the caller's ARN) it was set. */
  setAt: string;
  setBy: string;
}

/** The SSM path the stage's scaling records live under (one parameter today). */
export const overridePath = (app: string, stage: string) => `/${app}/${stage}/scaling`;
export const overrideParameter = (app: string, stage: string) =>
  `${overridePath(app, stage)}/api-override`;
/** The one-time scheduled action that ends an override with --until. */
export const OVERRIDE_END_ACTION = "slipway-scale-override-end";

const isCount = (value: unknown): value is number =>
  typeof value === "number" && Number.isInteger(value) && value >= 0;
const isBounds = (value: unknown): value is ScalingBounds => {
  const v = value as Partial<ScalingBounds> | null;
  return !!v && isCount(v.min) && isCount(v.max) && v.min <= v.max;
};

/** Parses a stored record; anything else is an error naming the parameter. */
export function parseOverride(name: string, text: string): ScalingOverride {
  let value: Partial<ScalingOverride> | null = null;
  try {
    value = JSON.parse(text) as Partial<ScalingOverride>;
  } catch {
    // reported below
  }
  const untilOk =
    value?.until === null ||
    (typeof value?.until === "string" && !Number.isNaN(Date.parse(value.until)));
  const fieldsOk =
    !!value &&
    isBounds(value.configured) &&
    typeof value.setAt === "string" &&
    typeof value.setBy === "string";
  if (!fieldsOk || !untilOk || !isBounds(value))
    throw new Error(
      `${name} is not a scaling override record ({min, max, until, configured: {min, max}, setAt, setBy}): ${text}`,
    );
  return value as ScalingOverride;
}

/** Whether an override still holds at `now` (one without an end holds until --reset). */
export const overrideActive = (override: ScalingOverride, now: Date) =>
  override.until === null || Date.parse(override.until) > now.getTime();

/**
 * The bounds a deploy registers: the configured ones, or an active override's. A deploy that
 * would change the configured bounds while an override is active is refused: the override's
 * scheduled end would return the service to the old bounds, and silently picking either side is
 * what this exists to prevent.
 */
export function deployBounds(options: {
  stage: string;
  configured: ScalingBounds;
  parameters: { name: string; value: string }[];
  expectedName: string;
  now: Date;
}): ScalingBounds & { override?: ScalingOverride } {
  const { configured, expectedName, stage } = options;
  for (const { name } of options.parameters)
    if (name !== expectedName)
      throw new Error(`unexpected parameter ${name} beside ${expectedName}: remove it or name it`);
  const stored = options.parameters.find((p) => p.name === expectedName);
  if (!stored) return configured;
  const override = parseOverride(stored.name, stored.value);
  if (!overrideActive(override, options.now)) return configured;
  const was = override.configured;
  if (was.min !== configured.min || was.max !== configured.max)
    throw new Error(
      `A scaling override is active on ${stage} (min ${override.min}, max ${override.max}, ${override.until ? `until ${override.until}` : "no end"}), set when the stage was configured min ${was.min} max ${was.max}; this deploy configures min ${configured.min} max ${configured.max}. Run \`npm run scale -- --stage ${stage} --reset\` under sst shell first (or deploy after it ends).`,
    );
  return { min: override.min, max: override.max, override };
}
