import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
import { Link } from "wouter";
import { ApiError, call } from "../api";
import { FormError } from "../components/field";
import { useApi, useLinkToken } from "../hooks";
import { type User, useMe } from "../session";

/**
 * Spends the link's token once, on arrival. The ref keeps it to once under StrictMode's second
 * effect run too: a second POST would find the token used and show the error.
 */
function useConfirmOnArrival(confirm: (token: string) => Promise<{ user: User }>) {
  const client = useQueryClient();
  const me = useMe();
  const token = useLinkToken();
  const mutation = useMutation({
    mutationFn: () => confirm(token),
    // The user this browser is signed in as (if any) may be the one that changed.
    onSuccess: () => client.invalidateQueries({ queryKey: ["me"] }),
  });
  const sent = useRef(false);
  const { mutate } = mutation;
  useEffect(() => {
    if (token && !sent.current) {
      sent.current = true;
      mutate();
    }
  }, [token, mutate]);
  return { token, mutation, me };
}

/** The verification mail's page (`/verify-email#token=…`). */
export function VerifyEmail() {
  const api = useApi();
  const { token, mutation, me } = useConfirmOnArrival((t) =>
    call(api.api.auth["verify-email"].$post({ json: { token: t } })),
  );
  const resend = useMutation({
    mutationFn: () => call(api.api.auth["verify-email"].resend.$post()),
  });
  const failed = !token || mutation.isError;
  return (
    <section aria-labelledby="verify-title">
      <h1 id="verify-title">Confirm your email address</h1>
      {mutation.isPending && token ? <p role="status">Confirming…</p> : null}
      {mutation.isSuccess ? (
        <>
          <p role="status" className="notice">
            {mutation.data.user.email} is confirmed. Thank you.
          </p>
          <p>
            <Link href="/">Go to your notes</Link>
          </p>
        </>
      ) : null}
      {failed ? (
        <>
          <FormError message={token ? messageOf(mutation.error) : "This link has no token."} />
          {me.data && !me.data.emailVerified ? (
            resend.isSuccess ? (
              <p role="status" className="notice">
                A new link is on its way to {me.data.email}.
              </p>
            ) : (
              <>
                <FormError message={resend.error ? messageOf(resend.error) : undefined} />
                <button type="button" onClick={() => resend.mutate()} disabled={resend.isPending}>
                  {resend.isPending ? "Sending…" : "Send a new link"}
                </button>
              </>
            )
          ) : me.data ? (
            <p>
              Your address {me.data.email} is already confirmed.{" "}
              <Link href="/account">Your account</Link>
            </p>
          ) : me.isSuccess ? (
            <p>
              <Link href={`/login?next=${encodeURIComponent("/account")}`}>Log in</Link> to ask for
              a new link.
            </p>
          ) : null}
        </>
      ) : null}
    </section>
  );
}

/** The email-change mail's page (`/confirm-email#token=…`), opened from the new address. */
export function ConfirmEmail() {
  const api = useApi();
  const { token, mutation } = useConfirmOnArrival((t) =>
    call(api.api.auth.email.confirm.$post({ json: { token: t } })),
  );
  return (
    <section aria-labelledby="confirm-email-title">
      <h1 id="confirm-email-title">Confirm your new email address</h1>
      {mutation.isPending && token ? <p role="status">Confirming…</p> : null}
      {mutation.isSuccess ? (
        <p role="status" className="notice">
          Your account's address is now {mutation.data.user.email}.
        </p>
      ) : null}
      {!token || mutation.isError ? (
        <>
          <FormError message={token ? messageOf(mutation.error) : "This link has no token."} />
          <p>
            Ask for a new link from <Link href="/account">your account</Link>.
          </p>
        </>
      ) : null}
    </section>
  );
}

const messageOf = (error: unknown) =>
  error instanceof ApiError ? error.message : "Something went wrong; try again.";
