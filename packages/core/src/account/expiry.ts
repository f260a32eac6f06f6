import { lt, or } from "drizzle-orm";
import { config } from "../config";
import { useTransaction } from "../db/transaction";
import { accountTokenTable, sessionTable, loginThrottleTable as throttle } from "./account.sql";
import { LOGIN_LIMITS } from "./login-limits";

// Apart from account.ts so the worker (maintenance.cleanup) does not take in password hashing,
// whose native addon the Lambda bundle cannot carry (password.test.ts checks the bundle).

const hours = (n: number) => n * 3_600_000;

/**
 * Sessions past their sliding expiry or their absolute lifetime, login attempts forgotten
 * (`memoryHours` without one), and mailed tokens past their expiry. maintenance.cleanup runs it.
 */
export async function deleteExpired(now = new Date()) {
  const bornBefore = new Date(now.getTime() - hours(config().session.absoluteTtlHours));
  return useTransaction(async (tx) => {
    const sessions = await tx
      .delete(sessionTable)
      .where(or(lt(sessionTable.expiresAt, now), lt(sessionTable.createdAt, bornBefore)))
      .returning({ id: sessionTable.tokenHash });
    const attempts = await tx
      .delete(throttle)
      .where(lt(throttle.lastAttemptAt, new Date(now.getTime() - hours(LOGIN_LIMITS.memoryHours))))
      .returning({ email: throttle.email });
    const tokens = await tx
      .delete(accountTokenTable)
      .where(lt(accountTokenTable.expiresAt, now))
      .returning({ hash: accountTokenTable.tokenHash });
    return {
      sessions: sessions.length,
      loginThrottles: attempts.length,
      accountTokens: tokens.length,
    };
  });
}
