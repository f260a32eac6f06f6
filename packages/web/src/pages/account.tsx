import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useRef, useState } from "react";
import { Redirect, useLocation } from "wouter";
import { ApiError, call } from "../api";
import { Field, FormError } from "../components/field";
import { formErrors } from "../components/form";
import { useApi } from "../hooks";
import { type User, useMe } from "../session";

/**
 * Mutations that send the password again (change password or email, delete the account): their
 * 401 means a wrong password, not a lost session, so the app does not send the user to log in for
 * it (app.tsx). It checks the session instead: if that is gone too, the page redirects.
 */
export const PASSWORD_CHECK = { passwordCheck: true } as const;

/** The form's errors, where a 401 is a wrong password, shown next to `passwordField`. */
function passwordFormErrors(error: unknown, fields: readonly string[], passwordField: string) {
  if (error instanceof ApiError && error.status === 401)
    return { form: undefined, fields: { [passwordField]: "Wrong password" } };
  return formErrors(error, fields);
}

/** A form's values on submit; `reset` clears it (after a success). */
const values = (event: FormEvent<HTMLFormElement>) => {
  event.preventDefault();
  const form = event.currentTarget;
  const data = Object.fromEntries(new FormData(form)) as Record<string, string>;
  return { data, reset: () => form.reset() };
};

const when = (iso: string) => new Date(iso).toLocaleString();

export function Account() {
  const me = useMe();
  if (me.isPending) return <p role="status">Loading…</p>;
  if (!me.data) return <Redirect to={`/login?next=${encodeURIComponent("/account")}`} />;
  return (
    <div className="account">
      <h1>Your account</h1>
      <Profile user={me.data} />
      <ChangeEmail />
      <ChangePassword />
      <Sessions />
      <DeleteAccount />
    </div>
  );
}

function Profile({ user }: { user: User }) {
  const api = useApi();
  const resend = useMutation({
    mutationFn: () => call(api.api.auth["verify-email"].resend.$post()),
  });
  return (
    <section aria-labelledby="profile-title" className="panel">
      <h2 id="profile-title">Profile</h2>
      <dl>
        <dt>Name</dt>
        <dd>{user.name}</dd>
        <dt>Email</dt>
        <dd>
          <span className="address">{user.email}</span>{" "}
          <span className={user.emailVerified ? "badge verified" : "badge"}>
            {user.emailVerified ? "Verified" : "Not verified"}
          </span>
        </dd>
      </dl>
      {user.emailVerified ? null : resend.isSuccess ? (
        <p role="status" className="notice">
          A new link is on its way to {user.email}. The previous one no longer works.
        </p>
      ) : (
        <>
          <p>Confirm your address with the link we mailed you, or ask for a new one.</p>
          <FormError message={resend.error ? resend.error.message : undefined} />
          <button type="button" onClick={() => resend.mutate()} disabled={resend.isPending}>
            {resend.isPending ? "Sending…" : "Send a new verification link"}
          </button>
        </>
      )}
    </section>
  );
}

function ChangeEmail() {
  const api = useApi();
  const client = useQueryClient();
  const change = useMutation({
    meta: PASSWORD_CHECK,
    mutationFn: ({ data }: { data: Record<string, string>; reset: () => void }) =>
      call(
        api.api.auth.email.$post({
          json: { newEmail: data.newEmail ?? "", password: data.password ?? "" },
        }),
      ),
    onSuccess: (_, { reset }) => reset(),
    onError: () => client.invalidateQueries({ queryKey: ["me"] }),
  });
  const { form, fields } = passwordFormErrors(change.error, ["newEmail", "password"], "password");
  return (
    <section aria-labelledby="email-title" className="panel">
      <h2 id="email-title">Change your email address</h2>
      {change.isSuccess ? (
        <p role="status" className="notice">
          A link is on its way to {change.variables.data.newEmail}. Your address changes when you
          open it.
        </p>
      ) : null}
      <form noValidate onSubmit={(event) => change.mutate(values(event))}>
        <FormError message={form} />
        <Field
          label="New email"
          name="newEmail"
          type="email"
          autoComplete="email"
          error={fields.newEmail}
          required
        />
        <Field
          label="Current password"
          name="password"
          type="password"
          autoComplete="current-password"
          error={fields.password}
          required
        />
        <button type="submit" disabled={change.isPending}>
          {change.isPending ? "Sending…" : "Send a confirmation link"}
        </button>
      </form>
    </section>
  );
}

function ChangePassword() {
  const api = useApi();
  const client = useQueryClient();
  const change = useMutation({
    meta: PASSWORD_CHECK,
    mutationFn: ({ data }: { data: Record<string, string>; reset: () => void }) =>
      call(
        api.api.auth.password.$post({
          json: {
            currentPassword: data.currentPassword ?? "",
            newPassword: data.newPassword ?? "",
          },
        }),
      ),
    onSuccess: (_, { reset }) => {
      reset();
      client.invalidateQueries({ queryKey: ["sessions"] });
    },
    onError: () => client.invalidateQueries({ queryKey: ["me"] }),
  });
  const { form, fields } = passwordFormErrors(
    change.error,
    ["currentPassword", "newPassword"],
    "currentPassword",
  );
  return (
    <section aria-labelledby="password-title" className="panel">
      <h2 id="password-title">Change your password</h2>
      {change.isSuccess ? (
        <p role="status" className="notice">
          Password changed. Every other device is signed out.
        </p>
      ) : null}
      <form noValidate onSubmit={(event) => change.mutate(values(event))}>
        <FormError message={form} />
        <Field
          label="Current password"
          name="currentPassword"
          type="password"
          autoComplete="current-password"
          error={fields.currentPassword}
          required
        />
        <Field
          label="New password (8 characters or more)"
          name="newPassword"
          type="password"
          autoComplete="new-password"
          error={fields.newPassword}
          required
        />
        <button type="submit" disabled={change.isPending}>
          {change.isPending ? "Saving…" : "Change password"}
        </button>
      </form>
    </section>
  );
}

function Sessions() {
  const api = useApi();
  const client = useQueryClient();
  const [, navigate] = useLocation();
  const sessions = useQuery({
    queryKey: ["sessions"],
    queryFn: () => call(api.api.auth.sessions.$get()),
  });
  const signedOut = () => {
    navigate("/login");
    client.clear();
    client.setQueryData(["me"], null);
  };
  const revoke = useMutation({
    mutationFn: (session: { id: string; current: boolean }) =>
      call(api.api.auth.sessions[":id"].$delete({ param: { id: session.id } })),
    onSuccess: (_, session) =>
      session.current ? signedOut() : client.invalidateQueries({ queryKey: ["sessions"] }),
  });
  const revokeOthers = useMutation({
    mutationFn: () => call(api.api.auth.sessions.$delete()),
    onSuccess: () => client.invalidateQueries({ queryKey: ["sessions"] }),
  });
  const list = sessions.data?.sessions ?? [];
  const error = revoke.error ?? revokeOthers.error ?? sessions.error;
  return (
    <section aria-labelledby="sessions-title" className="panel">
      <h2 id="sessions-title">Where you are signed in</h2>
      {sessions.isPending ? <p role="status">Loading sessions…</p> : null}
      <FormError message={error ? error.message : undefined} />
      <ul className="sessions">
        {list.map((session) => {
          const device = session.device ?? "Unknown device";
          return (
            <li key={session.id}>
              <div>
                <span className="device">{device}</span>
                {session.current ? <strong className="current"> (this device)</strong> : null}
                <div className="muted">
                  Signed in {when(session.createdAt)} · last used {when(session.lastUsedAt)}
                </div>
              </div>
              <button
                type="button"
                className="secondary"
                onClick={() => revoke.mutate(session)}
                disabled={revoke.isPending}
              >
                Sign out
                <span className="visually-hidden">
                  {session.current
                    ? " this device"
                    : ` ${device}, signed in ${when(session.createdAt)}`}
                </span>
              </button>
            </li>
          );
        })}
      </ul>
      {list.length > 1 ? (
        <button
          type="button"
          className="secondary"
          onClick={() => revokeOthers.mutate()}
          disabled={revokeOthers.isPending}
        >
          Sign out everywhere else
        </button>
      ) : null}
    </section>
  );
}

function DeleteAccount() {
  const api = useApi();
  const client = useQueryClient();
  const [, navigate] = useLocation();
  const [confirming, setConfirming] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  const openerRef = useRef<HTMLButtonElement>(null);
  const remove = useMutation({
    meta: PASSWORD_CHECK,
    mutationFn: ({ data }: { data: Record<string, string> }) =>
      call(api.api.auth.me.$delete({ json: { password: data.password ?? "" } })),
    onSuccess: () => {
      navigate("/login?deleted=1");
      client.clear();
      client.setQueryData(["me"], null);
    },
    onError: () => client.invalidateQueries({ queryKey: ["me"] }),
  });
  // Focus follows the disclosure: into the password field on opening, back to its button on cancel.
  const opened = useRef(false);
  useEffect(() => {
    if (confirming) (formRef.current?.elements.namedItem("password") as HTMLElement)?.focus();
    else if (opened.current) openerRef.current?.focus();
    opened.current ||= confirming;
  }, [confirming]);
  const { form, fields } = passwordFormErrors(remove.error, ["password"], "password");
  return (
    <section aria-labelledby="delete-title" className="panel">
      <h2 id="delete-title">Delete your account</h2>
      <p>This deletes your account, your notes and their files. It cannot be undone.</p>
      {confirming ? (
        <form ref={formRef} noValidate onSubmit={(event) => remove.mutate(values(event))}>
          <FormError message={form} />
          <Field
            label="Your password, to confirm"
            name="password"
            type="password"
            autoComplete="current-password"
            error={fields.password}
            required
          />
          <div className="row">
            <button type="submit" className="danger" disabled={remove.isPending}>
              {remove.isPending ? "Deleting…" : "Delete my account for good"}
            </button>
            <button
              type="button"
              className="secondary"
              onClick={() => {
                remove.reset();
                setConfirming(false);
              }}
            >
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <button
          ref={openerRef}
          type="button"
          className="danger"
          onClick={() => setConfirming(true)}
        >
          Delete account…
        </button>
      )}
    </section>
  );
}
