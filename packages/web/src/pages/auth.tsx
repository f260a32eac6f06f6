import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { FormEvent, ReactNode } from "react";
import { Link, useLocation, useSearch } from "wouter";
import { ApiError, call, safeNext } from "../api";
import { Field, FormError } from "../components/field";
import { useApi } from "../hooks";

/** A submit handler that hands the form's values to `send` instead of reloading the page. */
const submit =
  (send: (values: Record<string, string>) => void) => (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    send(Object.fromEntries(new FormData(event.currentTarget)) as Record<string, string>);
  };

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

function errorsOf(error: unknown) {
  if (!(error instanceof ApiError))
    return { form: error ? "Something went wrong; try again." : undefined, fields: {} };
  const fields = error.fields;
  const fieldNames = ["email", "password", "name"];
  const hasFieldError = Object.keys(fields).some((f) => fieldNames.includes(f));
  // A conflict names its field in details (the taken email).
  if (error.code === "conflict" && error.details?.field === "email")
    return { form: undefined, fields: { email: error.message } };
  return { form: hasFieldError ? undefined : error.message, fields };
}

/** The one layout of both auth pages: the fields they share, and any extra ones before them. */
function AuthForm(props: {
  kind: "signup" | "login";
  title: string;
  passwordLabel: string;
  submitLabel: string;
  pendingLabel: string;
  footer: ReactNode;
}) {
  const auth = useAuth(props.kind);
  const { form, fields } = errorsOf(auth.error);
  const titleId = `${props.kind}-title`;
  return (
    <section aria-labelledby={titleId}>
      <h1 id={titleId}>{props.title}</h1>
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
      <p>{props.footer}</p>
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
        <>
          Have an account? <Link href="/login">Log in</Link>
        </>
      }
    />
  );
}

export function LogIn() {
  return (
    <AuthForm
      kind="login"
      title="Log in"
      passwordLabel="Password"
      submitLabel="Log in"
      pendingLabel="Logging in…"
      footer={
        <>
          New here? <Link href="/signup">Create an account</Link>
        </>
      }
    />
  );
}
