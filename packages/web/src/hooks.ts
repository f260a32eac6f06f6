import { createContext, useContext, useEffect, useState } from "react";
import { type Api, api } from "./api";

/** The API client; tests provide one that talks to the real app in-process. */
export const ApiContext = createContext<Api>(api);
export const useApi = () => useContext(ApiContext);

/**
 * The token of a mailed link (`/verify-email#token=…`, ADR 025): in the fragment, which the
 * browser never sends to a server, so it reaches no access log and no Referer. Read once, then
 * taken out of the address bar and this history entry.
 */
export function useLinkToken(): string {
  const [token] = useState(
    () => new URLSearchParams(window.location.hash.slice(1)).get("token") ?? "",
  );
  useEffect(() => {
    if (!window.location.hash) return;
    const { pathname, search } = window.location;
    window.history.replaceState(window.history.state, "", `${pathname}${search}`);
  }, []);
  return token;
}
