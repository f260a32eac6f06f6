import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { FormEvent } from "react";
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

export function SignUp() {
  const signup = useAuth("signup");
  const { form, fields } = errorsOf(signup.error);
  return (
    <section aria-labelledby="signup-title">
      <h1 id="signup-title">Create your account</h1>
      <form noValidate onSubmit={submit(signup.mutate)}>
        <FormError message={form} />
        <Field label="Name" name="name" autoComplete="name" error={fields.name} required />
        <Field
          label="Email"
          name="email"
          type="email"
          autoComplete="email"
          error={fields.email}
          required
        />
        <Field
          label="Password (8 characters or more)"
          name="password"
          type="password"
          autoComplete="new-password"
          error={fields.password}
          required
        />
        <button type="submit" disabled={signup.isPending}>
          {signup.isPending ? "Creating…" : "Sign up"}
        </button>
      </form>
      <p>
        Have an account? <Link href="/login">Log in</Link>
      </p>
    </section>
  );
}

export function LogIn() {
  const login = useAuth("login");
  const { form, fields } = errorsOf(login.error);
  return (
    <section aria-labelledby="login-title">
      <h1 id="login-title">Log in</h1>
      <form noValidate onSubmit={submit(login.mutate)}>
        <FormError message={form} />
        <Field
          label="Email"
          name="email"
          type="email"
          autoComplete="email"
          error={fields.email}
          required
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          error={fields.password}
          required
        />
        <button type="submit" disabled={login.isPending}>
          {login.isPending ? "Logging in…" : "Log in"}
        </button>
      </form>
      <p>
        New here? <Link href="/signup">Create an account</Link>
      </p>
    </section>
  );
}
