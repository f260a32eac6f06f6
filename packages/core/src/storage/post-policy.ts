import { createHmac } from "node:crypto";
import { AppError } from "../error";
import { sameSignature } from "./signature";

/**
 * S3's browser-upload (POST policy) check, done offline as S3 does it (ADR 012): the SigV4
 * signature of the policy, its expiry, every condition, and no form field the policy leaves
 * unmentioned. s3rver checks none of this, and an offline store that accepted what S3 refuses
 * would hide policy mistakes until deploy. Pure: it stores nothing.
 */

/** Who signed the policy: the credential's access key and secret, and the bucket posted to. */
export interface PolicySigner {
  accessKey: string;
  secret: string;
  bucket: string;
}

/** A form the policy allows: what to store, under which key (not yet checked as a path). */
export interface AllowedUpload {
  key: string;
  contentType: string;
  file: File;
}

type Condition = Record<string, unknown> | unknown[];

const denied = (message: string, details?: unknown) => new AppError("forbidden", message, details);

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data).digest();
}

function checkSignature(fields: Map<string, string>, signer: PolicySigner) {
  const required = ["policy", "x-amz-signature", "x-amz-credential", "x-amz-algorithm", "key"];
  const missing = required.filter((name) => !fields.get(name));
  if (missing.length > 0) throw denied("The upload form is missing fields", { missing });
  if (fields.get("x-amz-algorithm") !== "AWS4-HMAC-SHA256") {
    throw denied("Unsupported signing algorithm");
  }
  const [accessKey, date, region, service, terminal] = (fields.get("x-amz-credential") ?? "").split(
    "/",
  );
  if (accessKey !== signer.accessKey || !date || !region || service !== "s3" || !terminal) {
    throw denied("The credential is not this store's");
  }
  // SigV4: the policy (base64, as sent) signed with the key derived for its date and region.
  const signingKey = [date, region, service, terminal].reduce<Buffer | string>(
    (key, part) => hmac(key, part),
    `AWS4${signer.secret}`,
  );
  const expected = hmac(signingKey, fields.get("policy") ?? "").toString("hex");
  if (!sameSignature(expected, fields.get("x-amz-signature") ?? "")) {
    throw denied("The policy signature does not match");
  }
}

/** Checks a browser form upload against its signed policy, as S3 would; throws what S3 refuses. */
export function verifyPostPolicy(form: FormData, signer: PolicySigner, now: Date): AllowedUpload {
  const { bucket } = signer;
  // S3 reads fields up to the file and ignores the rest; names are case-insensitive.
  const fields = new Map<string, string>();
  let file: File | undefined;
  for (const [name, value] of form.entries()) {
    if (name === "file" && typeof value !== "string") {
      file = value;
      break;
    }
    if (typeof value === "string") fields.set(name.toLowerCase(), value);
  }
  if (!file) throw new AppError("bad_request", "The form must end with a `file` field");
  checkSignature(fields, signer);

  let policy: { expiration?: unknown; conditions?: unknown };
  try {
    policy = JSON.parse(Buffer.from(fields.get("policy") ?? "", "base64").toString("utf8"));
  } catch {
    throw new AppError("bad_request", "The policy is not valid base64 JSON");
  }
  const expiration = new Date(String(policy.expiration));
  if (Number.isNaN(expiration.getTime()) || !Array.isArray(policy.conditions)) {
    throw new AppError("bad_request", "The policy needs an expiration and conditions");
  }
  if (expiration <= now) {
    throw denied("The upload policy has expired", { expiration: policy.expiration });
  }

  const covered = new Set(["policy", "x-amz-signature", "file"]);
  const value = (name: string) => (name === "bucket" ? bucket : fields.get(name));
  // `{field: value}` is S3's shorthand for ["eq", "$field", value].
  const conditions = (policy.conditions as Condition[]).flatMap((condition) =>
    Array.isArray(condition)
      ? [condition]
      : Object.entries(condition).map(([name, expected]) => ["eq", `$${name}`, expected]),
  );
  for (const condition of conditions) {
    const [operator, target, expected] = condition;
    if (operator === "content-length-range") {
      const [min, max] = [Number(target), Number(expected)];
      if (file.size > max) {
        throw new AppError("payload_too_large", `The file is larger than ${max} bytes`, {
          size: file.size,
          limitBytes: max,
        });
      }
      if (file.size < min) {
        throw denied(`The file is smaller than ${min} bytes`, { size: file.size, min });
      }
      continue;
    }
    const field = String(target).replace(/^\$/, "").toLowerCase();
    covered.add(field);
    const actual = value(field) ?? "";
    const ok =
      operator === "eq"
        ? actual === expected
        : operator === "starts-with" && actual.startsWith(String(expected));
    if (!ok) {
      throw denied(`Invalid according to policy: ${field} ${operator} ${expected}`, {
        condition,
      });
    }
  }
  const extra = [...fields.keys()].filter(
    (name) => !covered.has(name) && !name.startsWith("x-ignore-"),
  );
  if (extra.length > 0) {
    throw denied("Invalid according to policy: extra input fields", { fields: extra });
  }

  return {
    key: fields.get("key") ?? "",
    contentType: fields.get("content-type") ?? "application/octet-stream",
    file,
  };
}
