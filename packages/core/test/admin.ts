import * as Account from "../src/account/account";
import { as, signupUser } from "./app";

/** A request as the site sends it, signed in with `cookie` ("" signed out), untyped. */
export function request(cookie: string, method: string, path: string, body?: unknown) {
  return method === "GET" ? as(cookie).get(path) : as(cookie).send(method, path, body);
}

/** A fresh user with the admin role (set as the CLI does, without its audit record). */
export async function signupAdmin() {
  const signed = await signupUser();
  await Account.setRole(signed.user.id, "admin");
  return signed;
}
