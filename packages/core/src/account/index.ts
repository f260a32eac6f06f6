export * as Account from "./account";
export { AccountRoutes } from "./account.routes";
export { sessionMiddleware } from "./session";
