import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { InferResponseType } from "hono/client";
import { useState } from "react";
import { type Api, call } from "../api";
import { FormError } from "../components/field";
import { useApi } from "../hooks";
import { ConfirmButton } from "./confirm";
import { type Column, errorMessage, Filters, PagedTable, usePaged, when } from "./table";

type User = InferResponseType<Api["api"]["admin"]["users"]["$get"], 200>["users"][number];

/** Users: find by email, see their state, sign them out everywhere, disable or enable them. */
export function Users() {
  const api = useApi();
  const client = useQueryClient();
  const [filters, setFilters] = useState<Record<string, string>>({});
  const email = filters.email;
  const users = usePaged(["admin", "users", email ?? null], async (cursor) => {
    const page = await call(
      api.api.admin.users.$get({
        query: { ...(email ? { email } : {}), ...(cursor ? { cursor } : {}) },
      }),
    );
    return { rows: page.users, nextCursor: page.nextCursor };
  });
  const [notice, setNotice] = useState("");
  const done = (message: string) => {
    setNotice(message);
    return client.invalidateQueries({ queryKey: ["admin", "users"] });
  };
  const revoke = useMutation({
    mutationFn: (user: User) =>
      call(api.api.admin.users[":id"]["revoke-sessions"].$post({ param: { id: user.id } })),
    onSuccess: ({ revoked }, user) =>
      done(
        `${user.email} is signed out everywhere (${revoked} ${revoked === 1 ? "session" : "sessions"} ended).`,
      ),
  });
  const disable = useMutation({
    mutationFn: (user: User) =>
      call(api.api.admin.users[":id"].disable.$post({ param: { id: user.id } })),
    onSuccess: (_, user) => done(`${user.email} is disabled: they cannot sign in.`),
  });
  const enable = useMutation({
    mutationFn: (user: User) =>
      call(api.api.admin.users[":id"].enable.$post({ param: { id: user.id } })),
    onSuccess: (_, user) => done(`${user.email} can sign in again.`),
  });
  const failed = [revoke, disable, enable].find((m) => m.isError)?.error;
  const columns: Column<User>[] = [
    {
      header: "User",
      cell: (u) => (
        <>
          <strong>{u.email}</strong>
          <div>{u.name}</div>
          <div className="muted">{u.id}</div>
        </>
      ),
    },
    {
      header: "Verified",
      cell: (u) => (
        <span className={u.emailVerified ? "badge verified" : "badge"}>
          {u.emailVerified ? "Verified" : "Not verified"}
        </span>
      ),
    },
    { header: "Role", cell: (u) => u.role },
    { header: "State", cell: (u) => (u.disabledAt ? `Disabled ${when(u.disabledAt)}` : "Active") },
    { header: "Sessions", numeric: true, cell: (u) => u.sessions },
    { header: "Created", cell: (u) => when(u.createdAt) },
    {
      header: "Actions",
      cell: (u) => (
        <>
          <ConfirmButton
            label="Revoke sessions…"
            confirmLabel="Sign out everywhere"
            target={u.email}
            pending={revoke.isPending}
            onConfirm={() => revoke.mutate(u)}
          />
          {u.disabledAt ? (
            <button
              type="button"
              className="secondary"
              onClick={() => enable.mutate(u)}
              disabled={enable.isPending}
            >
              Enable<span className="visually-hidden"> {u.email}</span>
            </button>
          ) : (
            <ConfirmButton
              label="Disable…"
              confirmLabel="Disable the account"
              target={u.email}
              pending={disable.isPending}
              onConfirm={() => disable.mutate(u)}
            />
          )}
        </>
      ),
    },
  ];
  return (
    <section aria-labelledby="admin-users-title">
      <h1 id="admin-users-title">Users</h1>
      <Filters
        label="Find users"
        fields={[{ name: "email", label: "Email starts with", placeholder: "ada@" }]}
        values={filters}
        onChange={setFilters}
      />
      <p role="status" className="notice">
        {notice}
      </p>
      <FormError message={failed ? errorMessage(failed) : undefined} />
      <PagedTable
        caption={email ? `Users whose email starts with “${email}”` : "Users by email"}
        columns={columns}
        rowKey={(u) => u.id}
        paged={users}
        empty={email ? `No user's email starts with “${email}”.` : "No users yet."}
      />
    </section>
  );
}
