import { useEffect, useRef, useState } from "react";

/**
 * A button for an action that cannot be undone: the first press asks ("Discard?"), the second
 * does it. Focus moves to the confirming button, and back to the first one on cancel, so a
 * keyboard user never loses their place.
 */
export function ConfirmButton(props: {
  label: string;
  /** Read by screen readers after the label: which row it acts on. */
  target: string;
  confirmLabel: string;
  pending: boolean;
  onConfirm: () => void;
}) {
  const [asking, setAsking] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const openerRef = useRef<HTMLButtonElement>(null);
  const opened = useRef(false);
  useEffect(() => {
    if (asking) confirmRef.current?.focus();
    else if (opened.current) openerRef.current?.focus();
    opened.current ||= asking;
  }, [asking]);
  if (!asking) {
    return (
      <button ref={openerRef} type="button" className="secondary" onClick={() => setAsking(true)}>
        {props.label}
        <span className="visually-hidden"> {props.target}</span>
      </button>
    );
  }
  return (
    <>
      <button
        ref={confirmRef}
        type="button"
        className="danger"
        disabled={props.pending}
        onClick={props.onConfirm}
      >
        {props.confirmLabel}
        <span className="visually-hidden"> {props.target}</span>
      </button>
      <button type="button" className="secondary" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </>
  );
}
