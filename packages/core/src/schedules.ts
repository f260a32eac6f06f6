import { digestDaily } from "./digest/digest.schedules";
import { cleanupHourly } from "./maintenance/maintenance.schedules";
import type { Schedule } from "./task/schedule";

/**
 * Every schedule of the app. Plain data with no runtime imports: `infra/tasks.ts` reads it to
 * create one EventBridge schedule each, and the offline scheduler fires the same list.
 */
export const schedules: readonly Schedule[] = [cleanupHourly, digestDaily];
