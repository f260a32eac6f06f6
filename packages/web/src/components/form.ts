import type { FormEvent } from "react";
import { ApiError } from "../api";

/** A submit handler that hands the form's values to `send` instead of reloading the page. */
export const submit =
  (send: (values: Record<string, string>) => void) => (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    send(Object.fromEntries(new FormData(event.currentTarget)) as Record<string, string>);
  };

/**
 * A failed request's messages for a form: those that name one of its `fields` go next to that
 * field (a conflict names its field in `details.field`, e.g. the taken email); anything else is
 * the form's own error.
 */
export function formErrors(
  error: unknown,
  fields: readonly string[],
): { form?: string; fields: Record<string, string> } {
  if (!error) return { fields: {} };
  if (!(error instanceof ApiError)) return { form: "Something went wrong; try again.", fields: {} };
  const field = error.details?.field;
  if (error.code === "conflict" && typeof field === "string" && fields.includes(field))
    return { fields: { [field]: error.message } };
  const named = Object.fromEntries(
    Object.entries(error.fields).filter(([path]) => fields.includes(path)),
  );
  return { form: Object.keys(named).length > 0 ? undefined : error.message, fields: named };
}
