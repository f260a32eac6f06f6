/**
 * The sign-in limits (README, "Security model").
 *
 * Per email and address block (an IPv4 address, an IPv6 /64): `freeAttempts` attempts, then each
 * one waits `baseDelaySeconds` after the previous, doubling up to `maxDelaySeconds`; a success
 * from that block forgets them, and so do `memoryHours` without an attempt. A growing delay
 * rather than a lock, and per block: an attacker taking every slot as it opens holds back only
 * their own addresses, and the right password from elsewhere gets in at once.
 *
 * Per email over every address: `perEmail` attempts checked per (fixed, UTC-aligned) window, so
 * guessing from many addresses stays bounded. Successes and attempts the server was too busy to
 * check are given back.
 *
 * Per address, whatever the emails: `perAddress` attempts and `signupsPerAddress` signups per
 * block, and over IPv6 also per /48 (`perAddress48`, `signupsPerAddress48`: 4 × the /64's, one
 * site is often given a /48, 65,536 /64s). Correct sign-ins and 503s are given back here too.
 *
 * A wrong current password on a password change, an email change or an account deletion counts
 * as a failed sign-in for the account's email from that block (account.ts `checkPassword`).
 * Password-reset requests, verification resends and email changes have their own caps (ADR 025).
 */
export const LOGIN_LIMITS = {
  freeAttempts: 5,
  baseDelaySeconds: 60,
  maxDelaySeconds: 15 * 60,
  memoryHours: 24,
  perEmail: { limit: 100, windowSeconds: 24 * 3600 },
  perAddress: { limit: 20, windowSeconds: 15 * 60 },
  perAddress48: { limit: 80, windowSeconds: 15 * 60 },
  signupsPerAddress: { limit: 10, windowSeconds: 60 * 60 },
  signupsPerAddress48: { limit: 40, windowSeconds: 60 * 60 },
  /** Password-reset requests: per address as signups are, and per email whether it has an account. */
  resetsPerAddress: { limit: 10, windowSeconds: 60 * 60 },
  resetsPerAddress48: { limit: 40, windowSeconds: 60 * 60 },
  resetsPerEmail: { limit: 3, windowSeconds: 60 * 60 },
  /** Verification mails a signed-in user may ask for again, and email changes they may start. */
  verificationResends: { limit: 5, windowSeconds: 60 * 60 },
  emailChanges: { limit: 5, windowSeconds: 60 * 60 },
} as const;
