import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { type ReactNode, Suspense, useState } from "react";
import { Link, Route, Switch, useLocation } from "wouter";
import { type Api, ApiError, api as defaultApi } from "./api";
import { ApiContext } from "./hooks";
import { Account } from "./pages/account";
import { Admin } from "./pages/admin";
import { ForgotPassword, LogIn, ResetPassword, SignUp } from "./pages/auth";
import { DevMail } from "./pages/dev-mail";
import { ConfirmEmail, VerifyEmail } from "./pages/email";
import { NotFound } from "./pages/not-found";
import { NoteEditor } from "./pages/note-editor";
import { Notes } from "./pages/notes";
import { useLogOut, useMe } from "./session";

/** A 401 anywhere means the session is gone: to log in, then back here. */
function onUnauthorized(error: unknown) {
  if (
    error instanceof ApiError &&
    error.status === 401 &&
    !location.pathname.startsWith("/login")
  ) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
  }
}

export function App({ api = defaultApi }: { api?: Api }) {
  const [client] = useState(
    () =>
      new QueryClient({
        queryCache: new QueryCache({ onError: onUnauthorized }),
        // A wrong password given again (account page) is a 401 too: that page handles its own.
        mutationCache: new MutationCache({
          onError: (error, _variables, _context, mutation) => {
            if (!mutation.meta?.passwordCheck) onUnauthorized(error);
          },
        }),
        defaultOptions: {
          queries: { retry: (count, error) => !(error instanceof ApiError) && count < 2 },
        },
      }),
  );
  return (
    <ApiContext.Provider value={api}>
      <QueryClientProvider client={client}>
        <Shell>
          {/* While a lazily loaded page (a generated module's, ADR 027) loads. */}
          <Suspense fallback={<p role="status">Loading…</p>}>
            <Switch>
              <Route path="/signup" component={SignUp} />
              <Route path="/login" component={LogIn} />
              <Route path="/forgot-password" component={ForgotPassword} />
              <Route path="/reset-password" component={ResetPassword} />
              <Route path="/verify-email" component={VerifyEmail} />
              <Route path="/confirm-email" component={ConfirmEmail} />
              <Route path="/account" component={Account} />
              <Route path="/" component={Notes} />
              <Route path="/notes/new">{() => <NoteEditor />}</Route>
              <Route path="/notes/:id">{(params) => <NoteEditor id={params.id} />}</Route>
              <Route path="/dev/mail" component={DevMail} />
              <Route path="/admin" nest component={Admin} />
              <Route component={NotFound} />
            </Switch>
          </Suspense>
        </Shell>
      </QueryClientProvider>
    </ApiContext.Provider>
  );
}

function Shell({ children }: { children: ReactNode }) {
  const me = useMe();
  const logOut = useLogOut();
  const [, navigate] = useLocation();
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header>
        <nav aria-label="Main">
          <Link href="/" className="brand">
            Slipway notes
          </Link>
          {me.data ? (
            <>
              <span className="who">{me.data.name}</span>
              {me.data.role === "admin" ? <Link href="/admin">Console</Link> : null}
              <Link href="/account">Account</Link>
              <button
                type="button"
                onClick={() => logOut.mutate(undefined, { onSuccess: () => navigate("/login") })}
              >
                Log out
              </button>
            </>
          ) : (
            <>
              <Link href="/login">Log in</Link>
              <Link href="/signup">Sign up</Link>
            </>
          )}
        </nav>
      </header>
      <main id="main">{children}</main>
    </>
  );
}
