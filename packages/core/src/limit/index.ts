export * as Limit from "./limit";
