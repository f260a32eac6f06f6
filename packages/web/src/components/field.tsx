import { useId } from "react";

/** A labelled input whose API error sits next to it, announced and linked for screen readers. */
export function Field(props: {
  label: string;
  name: string;
  type?: string;
  error?: string;
  autoComplete?: string;
  multiline?: boolean;
  defaultValue?: string;
  required?: boolean;
}) {
  const id = useId();
  const errorId = `${id}-error`;
  const shared = {
    id,
    name: props.name,
    defaultValue: props.defaultValue,
    required: props.required,
    "aria-invalid": props.error ? true : undefined,
    "aria-describedby": props.error ? errorId : undefined,
  };
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      {props.multiline ? (
        <textarea {...shared} rows={10} />
      ) : (
        <input {...shared} type={props.type ?? "text"} autoComplete={props.autoComplete} />
      )}
      {props.error ? (
        <p id={errorId} className="error" role="alert">
          {props.error}
        </p>
      ) : null}
    </div>
  );
}

/** The form-level error (no field named), e.g. wrong credentials or too many attempts. */
export function FormError({ message }: { message?: string }) {
  return message ? (
    <p className="error" role="alert">
      {message}
    </p>
  ) : null;
}
