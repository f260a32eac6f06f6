import { describe, expect, it } from "vitest";
import { dropBreadcrumb, type ScrubbableEvent, scrubEvent, scrubText, scrubUrl } from "./scrub";

const EMAIL = "planted.person@example.com";
const NOTE = "my secret diary entry";
const TOKEN = "Kq3vX9pL2mN8rT5wY7zA1bC4dE6fG0hJ";

describe("scrubText", () => {
  it("removes emails, quoted text, query strings and token-like runs; keeps what says what failed", () => {
    const text = `Unexpected token 'm', "${NOTE}" is not valid JSON at https://site.example/reset?token=${TOKEN}&email=${EMAIL} for ${EMAIL} (${TOKEN})`;
    const scrubbed = scrubText(text);
    expect(scrubbed).toBe(
      `Unexpected token 'm', "[text]" is not valid JSON at https://site.example/reset for [email] ([token])`,
    );
  });

  it("leaves an ordinary message alone", () => {
    const message = "Cannot read properties of undefined (reading 'title')";
    expect(scrubText(message)).toBe(message);
    expect(scrubText("GET /api/notes/:id answered 503")).toBe("GET /api/notes/:id answered 503");
  });

  it("a fragment goes too (tokens travel there in some flows)", () => {
    expect(scrubText("at /confirm-email#token=abc")).toBe("at /confirm-email");
  });
});

describe("scrubUrl", () => {
  it("keeps origin and path only", () => {
    expect(scrubUrl(`https://user:pw@site.example/reset-password?token=${TOKEN}#x`)).toBe(
      "https://site.example/reset-password",
    );
    expect(scrubUrl("/relative?x=1")).toBe("/relative");
  });
});

describe("scrubEvent (beforeSend)", () => {
  it("keeps the exception, its frames and the trace; drops request data, user, extra, breadcrumbs and device contexts", () => {
    const event: ScrubbableEvent & { tags?: Record<string, string> } = {
      message: `failed for ${EMAIL}`,
      transaction: `/reset-password?token=${TOKEN}`,
      request: {
        url: `https://site.example/reset-password?token=${TOKEN}`,
        headers: { Referer: `https://site.example/?email=${EMAIL}`, Cookie: "slipway_session=abc" },
        cookies: { slipway_session: "abc" },
        query_string: `token=${TOKEN}`,
      } as ScrubbableEvent["request"],
      user: { email: EMAIL, ip_address: "203.0.113.9" },
      extra: { note: NOTE },
      breadcrumbs: [{ category: "ui.input", message: NOTE }],
      contexts: { trace: { trace_id: "4bf92f3577b34da6a3ce929d0e0e4736" }, browser: { name: "x" } },
      logentry: { message: `hello ${EMAIL}`, params: [NOTE] },
      tags: { kind: "api" },
      exception: {
        values: [
          {
            value: `"${NOTE}" is not valid JSON`,
            stacktrace: {
              frames: [
                {
                  filename: `https://site.example/assets/index-abc.js?v=${TOKEN}`,
                  abs_path: `https://site.example/assets/index-abc.js?v=${TOKEN}`,
                  context_line: NOTE,
                  vars: { note: NOTE },
                },
              ],
            },
          },
        ],
      },
    };
    const scrubbed = scrubEvent(event);
    expect(scrubbed).toEqual({
      message: "failed for [email]",
      transaction: "/reset-password",
      request: { url: "https://site.example/reset-password" },
      contexts: { trace: { trace_id: "4bf92f3577b34da6a3ce929d0e0e4736" } },
      logentry: { message: "hello [email]" },
      tags: { kind: "api" },
      exception: {
        values: [
          {
            value: '"[text]" is not valid JSON',
            stacktrace: {
              frames: [
                {
                  filename: "https://site.example/assets/index-abc.js",
                  abs_path: "https://site.example/assets/index-abc.js",
                },
              ],
            },
          },
        ],
      },
    });
    const raw = JSON.stringify(scrubbed);
    for (const planted of [EMAIL, NOTE, TOKEN, "slipway_session", "203.0.113.9"])
      expect(raw).not.toContain(planted);
  });

  it("breadcrumbs are never kept", () => {
    expect(dropBreadcrumb()).toBeNull();
  });
});
