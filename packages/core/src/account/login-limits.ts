/**
 * The sign-in limits (README, "Security model"). Per email, from any address: `freeAttempts`
 * attempts, then each one waits `baseDelaySeconds` after the previous, doubling up to
 * `maxDelaySeconds`; a success forgets them, and so do `memoryHours` without an attempt. A
 * growing delay rather than a lock: the right password gets in once the wait is over. Per
 * address, whatever the emails: `perAddress` attempts and `signupsPerAddress` signups.
 */
export const LOGIN_LIMITS = {
  freeAttempts: 5,
  baseDelaySeconds: 60,
  maxDelaySeconds: 15 * 60,
  memoryHours: 24,
  perAddress: { limit: 20, windowSeconds: 15 * 60 },
  signupsPerAddress: { limit: 10, windowSeconds: 60 * 60 },
} as const;
