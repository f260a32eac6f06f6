import { createContext, useContext } from "react";
import { type Api, api } from "./api";

/** The API client; tests provide one that talks to the real app in-process. */
export const ApiContext = createContext<Api>(api);
export const useApi = () => useContext(ApiContext);
