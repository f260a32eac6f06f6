export * as Limit from "./limit";
export { writeRateMiddleware } from "./write-rate";
