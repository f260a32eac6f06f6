export * as Cache from "./cache";
export type { Json } from "./port";
