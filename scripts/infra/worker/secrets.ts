// Pulumi marks secret values with this signature key; a plan shows them as "[secret]".
const SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d";

/** `value` with Pulumi's secret wrappers replaced by their values (`[secret]` if unknown). */
export function unwrapSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value && typeof value === "object") {
    if (SECRET_SIGNATURE in value) {
      const inner = (value as { value?: unknown }).value;
      return inner === undefined || inner === null ? "[secret]" : unwrapSecrets(inner);
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}
