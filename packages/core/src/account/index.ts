export * as Account from "./account";
export { AccountRoutes } from "./account.routes";
export { sessionCookieName, sessionMiddleware } from "./session";
