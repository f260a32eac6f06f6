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
} as const;
