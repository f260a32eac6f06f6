import type { UserConfig } from "vite";
import { afterEach, describe, expect, it, vi } from "vitest";
import { contentSecurityPolicy, errorReportingOrigins } from "../../security-headers";

const connectSrc = (csp: string) =>
  csp.split("; ").find((directive) => directive.startsWith("connect-src "));

describe("the ingest origin of the site's DSN", () => {
  it("is the DSN's origin, its key and project left out", () => {
    expect(errorReportingOrigins("https://abc123@o45.ingest.us.sentry.io/678")).toEqual([
      "https://o45.ingest.us.sentry.io",
    ]);
    expect(errorReportingOrigins("https://k@sentry.example.com:8443/prefix/9")).toEqual([
      "https://sentry.example.com:8443",
    ]);
    expect(errorReportingOrigins("http://k@127.0.0.1:9000/1")).toEqual(["http://127.0.0.1:9000"]);
  });

  it("no DSN, no origin", () => {
    expect(errorReportingOrigins(undefined)).toEqual([]);
    expect(errorReportingOrigins("")).toEqual([]);
  });

  it.each([
    ["not a URL", "SLIPWAY_WEB_SENTRY_DSN is not a URL"],
    ["http://k@sentry.example.com/1", "must be https"],
    ["https://sentry.example.com/1", "is not a Sentry DSN"],
    ["https://k@sentry.example.com/", "is not a Sentry DSN"],
    ["https://k:secret@sentry.example.com/1", "is not a Sentry DSN"],
    ["https://k@sentry.example.com/1?x=1", "is not a Sentry DSN"],
  ])("%s is refused by name", (dsn, message) => {
    expect(() => errorReportingOrigins(dsn)).toThrow(message);
  });
});

describe("the preview server's headers (vite.config.ts), as `npm run preview` sends them", () => {
  afterEach(() => vi.unstubAllEnvs());

  async function config(dsn: string | undefined): Promise<UserConfig> {
    vi.resetModules();
    vi.stubEnv("SLIPWAY_WEB_SENTRY_DSN", dsn);
    vi.stubEnv("SLIPWAY_RELEASE", "r42");
    return (await import("../../vite.config")).default as UserConfig;
  }
  const cspOf = (given: UserConfig) =>
    (given.preview?.headers as Record<string, string> | undefined)?.["Content-Security-Policy"] ??
    "";

  it("with a DSN: connect-src is the site and exactly the ingest origin; the build gets DSN and release", async () => {
    const given = await config("https://k@o1.ingest.sentry.io/2");
    const csp = cspOf(given);
    expect(connectSrc(csp)).toBe("connect-src 'self' https://o1.ingest.sentry.io");
    expect(given.define).toMatchObject({
      "import.meta.env.SLIPWAY_WEB_SENTRY_DSN": JSON.stringify("https://k@o1.ingest.sentry.io/2"),
      "import.meta.env.SLIPWAY_RELEASE": JSON.stringify("r42"),
    });
  });

  it("without one: the CSP names no ingest (the same policy as before reporting existed)", async () => {
    const given = await config(undefined);
    const csp = cspOf(given);
    expect(csp).toBe(contentSecurityPolicy());
    expect(connectSrc(csp)).toBe("connect-src 'self'");
  });
});
