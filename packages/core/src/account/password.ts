import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { type Algorithm, hash, verify } from "@node-rs/argon2";
import { config } from "../config";
import { AppError } from "../error";

/**
 * Argon2id at OWASP's minimum (m=19 MiB, t=2, p=1): ~15 ms of CPU per hash, against ~270 ms for
 * the scrypt (N=2^15, r=8, p=3) it replaces, so a 0.25 vCPU task can afford a login flood's
 * hashes. New hashes are PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`); hashes made
 * before (`scrypt$N$r$p$salt$hash`, base64url) still verify and `needsRehash` says to replace them.
 * Both hash the password's NFKC form as UTF-8, so a password verifies however it was typed.
 *
 * At most `concurrency` hashes or verifies run at once per process, `queue` more wait; beyond
 * that a call throws `server_busy` (503, Retry-After: 1) at once instead of queueing work the
 * CPU cannot catch up with.
 */
export const ARGON2 = { memoryCost: 19_456, timeCost: 2, parallelism: 1, outputLen: 32 } as const;
/**
 * Tests only: Argon2id at its floor (~0.1 ms of CPU a hash instead of ~15 ms; a test run makes
 * thousands), when SLIPWAY_TEST_ARGON2=cheap. The tests' setup sets it; config refuses it outside
 * vitest (config.ts), and every bundle compiles the read away (build-server.mjs, the dev bundle),
 * so a deployed or `npm run dev` API hashes with ARGON2 whatever its environment holds. The tests
 * of the parameters themselves unset it (password.test.ts).
 */
const TEST_ARGON2 = { memoryCost: 8, timeCost: 1, parallelism: 1, outputLen: 32 } as const;
/** The parameters new hashes get: ARGON2, but in tests that asked for the cheap ones. */
const argon2Parameters = () => (process.env.SLIPWAY_TEST_ARGON2 === "cheap" ? TEST_ARGON2 : ARGON2);
/** The binding's enum is an ambient const enum (not usable under isolatedModules): Argon2id = 2. */
const ARGON2ID = 2 as Algorithm;
const SALT_BYTES = 16;

// Stored hashes are read from the database: parameters past these bounds are not ours (refused,
// so a corrupt or planted row cannot make one login allocate more than 64 MiB or run for long:
// Argon2id at the bounds is ~3.4 × today's memory and 2 × its passes, about 100 ms of CPU).
const MAX_ARGON2 = { memoryCost: 64 * 1024, timeCost: 4, parallelism: 4 };
const SCRYPT_MAXMEM = 64 * 1024 * 1024;
const MAX_SCRYPT_P = 4;
// scrypt's CPU grows with N·r·p: at most 4/3 of the hashes stored before (N=2^15, r=8, p=3,
// ~270 ms), where 64 MiB at p=4 alone would allow ~800 ms.
const MAX_SCRYPT_WORK = 128 * 2 ** 15 * 8 * 4;

const B64 = "[A-Za-z0-9+/]";
const ARGON2ID_PHC = new RegExp(
  `^\\$argon2id\\$v=19\\$m=(\\d{1,10}),t=(\\d{1,10}),p=(\\d{1,3})\\$(${B64}{11,})\\$(${B64}{16,})$`,
);
const SCRYPT = /^scrypt\$(\d{1,10})\$(\d{1,5})\$(\d{1,5})\$([\w-]{11,})\$([\w-]{22,})$/;

type Parsed =
  | {
      scheme: "argon2id";
      memoryCost: number;
      timeCost: number;
      parallelism: number;
      saltBytes: number;
      hashBytes: number;
      stored: string;
    }
  | { scheme: "scrypt"; N: number; r: number; p: number; salt: Buffer; hash: Buffer };

/** Unpadded base64 of `length` characters holds this many bytes. */
const base64Bytes = (length: number) => Math.floor((length * 3) / 4);

/** The stored hash if it is one of ours within bounds; anything else is undefined (never throws). */
function parse(stored: unknown): Parsed | undefined {
  if (typeof stored !== "string") return undefined;
  const argon = ARGON2ID_PHC.exec(stored);
  if (argon) {
    const [memoryCost, timeCost, parallelism] = [argon[1], argon[2], argon[3]].map(Number);
    if (
      memoryCost === undefined ||
      timeCost === undefined ||
      parallelism === undefined ||
      parallelism < 1 ||
      parallelism > MAX_ARGON2.parallelism ||
      timeCost < 1 ||
      timeCost > MAX_ARGON2.timeCost ||
      memoryCost < 8 * parallelism ||
      memoryCost > MAX_ARGON2.memoryCost
    ) {
      return undefined;
    }
    return {
      scheme: "argon2id",
      memoryCost,
      timeCost,
      parallelism,
      saltBytes: base64Bytes(argon[4]?.length ?? 0),
      hashBytes: base64Bytes(argon[5]?.length ?? 0),
      stored,
    };
  }
  const legacy = SCRYPT.exec(stored);
  if (legacy) {
    const [N, r, p] = [legacy[1], legacy[2], legacy[3]].map(Number);
    if (
      N === undefined ||
      r === undefined ||
      p === undefined ||
      N < 2 ||
      (N & (N - 1)) !== 0 ||
      r < 1 ||
      p < 1 ||
      p > MAX_SCRYPT_P ||
      128 * N * r > SCRYPT_MAXMEM ||
      128 * N * r * p > MAX_SCRYPT_WORK
    ) {
      return undefined;
    }
    const salt = Buffer.from(legacy[4] ?? "", "base64url");
    const hash = Buffer.from(legacy[5] ?? "", "base64url");
    if (salt.length < 8 || hash.length < 16) return undefined;
    return { scheme: "scrypt", N, r, p, salt, hash };
  }
  return undefined;
}

/** The bytes both schemes hash: NFKC, UTF-8 (a lone surrogate becomes U+FFFD, as Node encodes it). */
const encode = (password: string) => Buffer.from(password.normalize("NFKC"), "utf8");

function scryptKey(password: Buffer, parsed: Extract<Parsed, { scheme: "scrypt" }>) {
  return new Promise<Buffer>((resolve, reject) => {
    scrypt(
      password,
      parsed.salt,
      parsed.hash.length,
      { N: parsed.N, r: parsed.r, p: parsed.p, maxmem: SCRYPT_MAXMEM },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
}

async function check(password: string, parsed: Parsed): Promise<boolean> {
  const bytes = encode(password);
  if (parsed.scheme === "argon2id") return verify(parsed.stored, bytes);
  const key = await scryptKey(bytes, parsed);
  return key.length === parsed.hash.length && timingSafeEqual(key, parsed.hash);
}

const argon2id = (password: string) =>
  hash(encode(password), {
    ...argon2Parameters(),
    algorithm: ARGON2ID,
    salt: randomBytes(SALT_BYTES),
  });

export interface HashLimits {
  /** Hashes or verifies running at once. */
  concurrency: number;
  /** Calls that may wait for one to finish; past that, `server_busy` at once. */
  queue: number;
}

export function serverBusy(): AppError {
  return new AppError("server_busy", "The server is busy; try again in a moment", {
    retryAfterSeconds: 1,
  });
}

/** At most `concurrency` tasks at once, `queue` waiting in order; more are refused, not queued. */
export class HashLimiter {
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  constructor(readonly limits: HashLimits) {}

  get active() {
    return this.#active;
  }
  get waiting() {
    return this.#waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active < this.limits.concurrency) this.#active++;
    else if (this.#waiting.length < this.limits.queue) {
      // The slot is handed over by the task that frees it (`#active` stays counted).
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else throw serverBusy();
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active--;
    }
  }
}

export interface PasswordHasher {
  hashPassword(password: string): Promise<string>;
  verifyPassword(password: string, stored: string): Promise<boolean>;
  dummyHash(): Promise<string>;
  readonly limiter: HashLimiter;
}

/** The functions below with their own limiter (the process has one, sized by config). */
export function createPasswordHasher(limits: HashLimits): PasswordHasher {
  const limiter = new HashLimiter(limits);
  let dummy: Promise<string> | undefined;
  return {
    limiter,
    hashPassword: (password) => limiter.run(() => argon2id(password)),
    async verifyPassword(password, stored) {
      const parsed = parse(stored);
      if (!parsed) return false;
      try {
        return await limiter.run(() => check(password, parsed));
      } catch (error) {
        if (error instanceof AppError && error.code === "server_busy") throw error;
        return false; // a hash our parser let through that the algorithm refuses: not a match
      }
    },
    dummyHash() {
      // Made once, outside the limiter (a busy refusal must not be cached); verified through it.
      dummy ??= argon2id(randomBytes(16).toString("hex")).catch((error) => {
        dummy = undefined;
        throw error;
      });
      return dummy;
    },
  };
}

let shared: PasswordHasher | undefined;

/** The process's hasher, sized by PASSWORD_HASH_CONCURRENCY and PASSWORD_HASH_QUEUE. */
export function passwordHasher(): PasswordHasher {
  shared ??= createPasswordHasher(config().passwordHashing);
  return shared;
}

/** An Argon2id hash of the password with the current parameters. Throws `server_busy` when full. */
export function hashPassword(password: string): Promise<string> {
  return passwordHasher().hashPassword(password);
}

/**
 * Whether the password matches the stored hash (Argon2id or the older scrypt). A stored value
 * that is not a well-formed hash of ours is false. Throws only `server_busy`, when full.
 */
export function verifyPassword(password: string, stored: string): Promise<boolean> {
  return passwordHasher().verifyPassword(password, stored);
}

/**
 * Whether a hash that just verified should be replaced by `hashPassword`'s: scrypt, or Argon2id
 * with less memory, fewer passes or a shorter salt or output than now. Never throws.
 */
export function needsRehash(stored: string): boolean {
  const parsed = parse(stored);
  if (parsed?.scheme !== "argon2id") return true;
  const current = argon2Parameters();
  return (
    parsed.memoryCost < current.memoryCost ||
    parsed.timeCost < current.timeCost ||
    parsed.hashBytes < current.outputLen ||
    parsed.saltBytes < SALT_BYTES
  );
}

/** Verified against when the email is unknown, so both failures take the same time. */
export function dummyHash(): Promise<string> {
  return passwordHasher().dummyHash();
}
