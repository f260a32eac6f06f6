/**
 * Every `sst.Secret` of the app (SSM Parameter Store, free tier). Set one with
 * `npx sst secret set <Name> <value> --stage <stage>`. Functions link only the ones they use.
 */
export const secrets = {
  // Error reporting; empty disables Sentry (no network, no cost). Used by the observability work.
  SentryDsn: new sst.Secret("SentryDsn", ""),
};

export const allSecrets = Object.values(secrets);
