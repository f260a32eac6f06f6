import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { InferResponseType } from "hono/client";
import { type Api, ApiError, call } from "./api";
import { useApi } from "./hooks";

export type User = InferResponseType<Api["api"]["auth"]["me"]["$get"], 200>["user"];

/** The signed-in user, or null. A 401 here is an answer, not an error. */
export function useMe() {
  const api = useApi();
  return useQuery({
    queryKey: ["me"],
    queryFn: async (): Promise<User | null> => {
      try {
        return (await call(api.api.auth.me.$get())).user;
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return null;
        throw error;
      }
    },
    staleTime: 60_000,
  });
}

export function useLogOut() {
  const api = useApi();
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => call(api.api.auth.logout.$post()),
    onSuccess: () => client.setQueryData(["me"], null),
  });
}
