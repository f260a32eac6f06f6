import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { Link, useLocation, useSearch } from "wouter";
import { call, safeNext } from "../api";
import { Field, FormError } from "../components/field";
import { formErrors, submit } from "../components/form";
import { useApi, useLinkToken } from "../hooks";

function useAuth(kind: "signup" | "login") {
  const api = useApi();
  const client = useQueryClient();
  const [, navigate] = useLocation();
  const next = safeNext(new URLSearchParams(useSearch()).get("next"));
  return useMutation({
    mutationFn: (values: Record<string, string>) =>
      kind === "signup"
        ? call(
            api.api.auth.signup.$post({
              json: {
                email: values.email ?? "",
                password: values.password ?? "",
                name: values.name ?? "",
              },
            }),
          )
        : call(
            api.api.auth.login.$post({
              json: { email: values.email ?? "", password: values.password ?? "" },
            }),
          ),
    onSuccess: ({ user }) => {
      client.setQueryData(["me"], user);
      navigate(next);
    },
  });
}

/** The one layout of both auth pages: the fields they share, and any extra ones before them. */
function AuthForm(props: {
  kind: "signup" | "login";
  title: string;
  passwordLabel: string;
  submitLabel: string;
  pendingLabel: string;
  notice?: ReactNode;
  footer: ReactNode;
}) {
  const auth = useAuth(props.kind);
  const { form, fields } = formErrors(auth.error, ["email", "password", "name"]);
  const titleId = `${props.kind}-title`;
  return (
    <section aria-labelledby={titleId}>
      <h1 id={titleId}>{props.title}</h1>
      {props.notice}
      <form noValidate onSubmit={submit(auth.mutate)}>
        <FormError message={form} />
        {props.kind === "signup" ? (
          <Field label="Name" name="name" autoComplete="name" error={fields.name} required />
        ) : null}
        <Field
          label="Email"
          name="email"
          type="email"
          autoComplete="email"
          error={fields.email}
          required
        />
        <Field
          label={props.passwordLabel}
          name="password"
          type="password"
          autoComplete={props.kind === "signup" ? "new-password" : "current-password"}
          error={fields.password}
          required
        />
        <button type="submit" disabled={auth.isPending}>
          {auth.isPending ? props.pendingLabel : props.submitLabel}
        </button>
      </form>
      {props.footer}
    </section>
  );
}

export function SignUp() {
  return (
    <AuthForm
      kind="signup"
      title="Create your account"
      passwordLabel="Password (8 characters or more)"
      submitLabel="Sign up"
      pendingLabel="Creating…"
      footer={
        <p>
          Have an account? <Link href="/login">Log in</Link>
        </p>
      }
    />
  );
}

export function LogIn() {
  const deleted = new URLSearchParams(useSearch()).has("deleted");
  return (
    <AuthForm
      kind="login"
      title="Log in"
      passwordLabel="Password"
      submitLabel="Log in"
      pendingLabel="Logging in…"
      notice={
        deleted ? (
          <p role="status" className="notice">
            Your account has been deleted.
          </p>
        ) : null
      }
      footer={
        <>
          <p>
            <Link href="/forgot-password">Forgot your password?</Link>
          </p>
          <p>
            New here? <Link href="/signup">Create an account</Link>
          </p>
        </>
      }
    />
  );
}

/** Asks for a reset link. The answer is the same whether or not an account has the address. */
export function ForgotPassword() {
  const api = useApi();
  const request = useMutation({
    mutationFn: (values: Record<string, string>) =>
      call(api.api.auth["password-reset"].$post({ json: { email: values.email ?? "" } })),
  });
  const { form, fields } = formErrors(request.error, ["email"]);
  return (
    <section aria-labelledby="forgot-title">
      <h1 id="forgot-title">Reset your password</h1>
      {request.isSuccess ? (
        <p role="status" className="notice">
          If an account has the address {request.variables.email}, a link to set a new password is
          on its way there. It works once, for 1 hour.
        </p>
      ) : (
        <form noValidate onSubmit={submit(request.mutate)}>
          <p>We will mail you a link to set a new password.</p>
          <FormError message={form} />
          <Field
            label="Email"
            name="email"
            type="email"
            autoComplete="email"
            error={fields.email}
            required
          />
          <button type="submit" disabled={request.isPending}>
            {request.isPending ? "Sending…" : "Send the link"}
          </button>
        </form>
      )}
      <p>
        <Link href="/login">Back to log in</Link>
      </p>
    </section>
  );
}

/** The reset mail's page (`/reset-password#token=…`): a new password, then signed in. */
export function ResetPassword() {
  const api = useApi();
  const client = useQueryClient();
  const [, navigate] = useLocation();
  const token = useLinkToken();
  const reset = useMutation({
    mutationFn: (values: Record<string, string>) =>
      call(
        api.api.auth["password-reset"].confirm.$post({
          json: { token, password: values.password ?? "" },
        }),
      ),
    onSuccess: ({ user }) => {
      // Every other session is gone; this device is signed in with a new one.
      client.clear();
      client.setQueryData(["me"], user);
      navigate("/");
    },
  });
  const { form, fields } = formErrors(reset.error, ["password"]);
  return (
    <section aria-labelledby="reset-title">
      <h1 id="reset-title">Set a new password</h1>
      <form noValidate onSubmit={submit(reset.mutate)}>
        <FormError message={token ? form : "This link has no token; ask for a new one."} />
        {form || !token ? (
          <p>
            <Link href="/forgot-password">Ask for a new link</Link>
          </p>
        ) : null}
        <Field
          label="New password (8 characters or more)"
          name="password"
          type="password"
          autoComplete="new-password"
          error={fields.password}
          required
        />
        <button type="submit" disabled={reset.isPending || !token}>
          {reset.isPending ? "Saving…" : "Set the password and log in"}
        </button>
      </form>
      <p>It also signs you out on every other device.</p>
    </section>
  );
}
