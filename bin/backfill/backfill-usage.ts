/** Kept apart so `npm run replay` can print it without loading the backfill (and its AWS clients). */
export const backfillUsage =
  "usage: npm run replay -- <scenario.json> --target <stack> [--url <WebhookBaseUrl>] [--region <region>] " +
  "[--rate <n>/s] [--progress <file>]";
