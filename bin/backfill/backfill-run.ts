import type { FormatName } from "../../functions/vendors/format.js";
import type { ScenarioFile } from "../local/scenario-file.js";
import {
  defaultContentType,
  isSigned,
  NoSigningSecretError,
  type SigningSecrets,
  signDelivery,
} from "../local/sign-delivery.js";
import { type BackfillProgress, readProgress, writeProgress } from "./progress-file.js";

/** The backfill stopped before the end; the message says why and that a rerun resumes at the delivery named. */
export class BackfillStoppedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BackfillStoppedError";
  }
}

export interface BackfillOptions {
  scenario: ScenarioFile;
  /** The stack's webhook base URL (its `WebhookBaseUrl` output), to which the format name is appended. */
  webhookBaseUrl: string;
  /** Names the target in the progress file, so a progress file is never resumed against another stack. */
  target: string;
  progressFile: string;
  /** The secret to sign a format's unsigned deliveries with (read once per format). */
  signingSecrets(format: FormatName): Promise<Partial<SigningSecrets>>;
  /** Deliveries started per second at most. */
  ratePerSecond: number;
  /** Attempts of one delivery answered 429 or 5xx (or not answered) before the backfill stops. */
  maxAttempts?: number;
  /** First retry delay; doubled per attempt up to 30 s; a Retry-After header wins. */
  backoffMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** One acknowledged delivery. */
  acknowledged?(delivery: { index: number; format: string; status: number; attempts: number }): void;
  /** Progress and retries, for the operator (stderr). */
  say?(line: string): void;
}

export interface BackfillSummary {
  /** Acknowledged by this run. */
  sent: number;
  /** Acknowledged by earlier runs and skipped. */
  resumedAfter: number;
  /** Configuration pushes and finalizer instants in the file, which a deployed stack does not take from it. */
  ignoredSteps: number;
}

const MAX_BACKOFF_MS = 30_000;
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Posts every delivery of a scenario file, in its time order, to a deployed stack's webhook URL: signed with the
 * stack's own secrets when the file holds it unsigned, at most `ratePerSecond`, each retried on 429 and 5xx with
 * backoff. After each acknowledged (2xx) delivery the progress file records it, so a rerun after any stop resumes
 * at the first delivery not acknowledged. A delivery refused with another 4xx stops the run: sending the rest
 * would apply them without it.
 */
export async function runBackfill(options: BackfillOptions): Promise<BackfillSummary> {
  const sleep = options.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
  const now = options.now ?? Date.now;
  const post = options.fetch ?? fetch;
  const say = options.say ?? (() => undefined);
  const base = options.webhookBaseUrl.endsWith("/") ? options.webhookBaseUrl : `${options.webhookBaseUrl}/`;
  const progress: BackfillProgress = readProgress(options.progressFile) ?? {
    target: options.target,
    webhookBaseUrl: base,
    acknowledged: 0,
  };
  if (progress.target !== options.target || progress.webhookBaseUrl !== base)
    throw new BackfillStoppedError(
      `${options.progressFile} records a backfill of ${progress.target} at ${progress.webhookBaseUrl}: ` +
        "pass --progress <another file> for this target",
    );
  if (progress.acknowledged > 0)
    say(`resuming after ${progress.acknowledged} deliveries acknowledged earlier (${options.progressFile})`);

  const summary: BackfillSummary = { sent: 0, resumedAfter: progress.acknowledged, ignoredSteps: 0 };
  const secrets = new Map<FormatName, Promise<Partial<SigningSecrets>>>();
  const spacingMs = 1000 / options.ratePerSecond;
  let nextStart = 0;
  let position = 0;
  for await (const step of options.scenario.steps()) {
    if (step.kind !== "delivery") {
      summary.ignoredSteps += 1;
      continue;
    }
    position += 1;
    const { index, delivery } = step;
    if (position <= progress.acknowledged) {
      // The delivery the progress file names last must be the one at its position: the same file, unchanged.
      if (
        position === progress.acknowledged &&
        progress.lastIndex !== undefined &&
        progress.lastIndex !== index
      )
        throw new BackfillStoppedError(
          `${options.progressFile} does not match this scenario file (delivery ${position} is deliveries.${index}, ` +
            `not deliveries.${progress.lastIndex}): was the file changed?`,
        );
      continue;
    }
    const format = delivery.format as FormatName;
    const url = new URL(format, base);
    const body = Buffer.from(
      typeof delivery.body === "string" ? delivery.body : JSON.stringify(delivery.body),
    );
    let headers: Record<string, string> = { "content-type": defaultContentType(format) };
    for (const [name, value] of Object.entries(delivery.headers ?? {})) headers[name.toLowerCase()] = value;
    if (!isSigned(format, headers)) {
      if (!secrets.has(format)) secrets.set(format, options.signingSecrets(format));
      const held = await (secrets.get(format) as Promise<Partial<SigningSecrets>>);
      try {
        headers = signDelivery(
          format,
          { method: "POST", path: url.pathname, rawQuery: "", body, headers },
          new Date(now()),
          held,
        );
      } catch (error) {
        if (!(error instanceof NoSigningSecretError)) throw error;
        throw new BackfillStoppedError(
          `deliveries.${index} (${format}) is unsigned and there is no ${format} signing secret to sign it with` +
            (format === "elation"
              ? " (the stack holds only Elation's public key): keep Elation's own signature"
              : "") +
            `; ${progress.acknowledged} deliveries acknowledged, a rerun resumes here`,
        );
      }
    }

    for (let attempt = 1; ; attempt += 1) {
      const wait = nextStart - now();
      if (wait > 0) await sleep(wait);
      nextStart = Math.max(now(), nextStart) + spacingMs;
      let status: number;
      let retryAfterMs: number | undefined;
      let problem = "";
      try {
        const answer = await post(url, {
          method: "POST",
          headers,
          body,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        status = answer.status;
        retryAfterMs = retryAfter(answer.headers.get("retry-after"));
        problem = status >= 300 ? problemOf(await answer.text()) : "";
        if (status < 300) await answer.body?.cancel();
      } catch (error) {
        status = 0;
        problem = (error as Error).message;
      }
      if (status >= 200 && status < 300) {
        progress.acknowledged = position;
        progress.lastIndex = index;
        writeProgress(options.progressFile, progress);
        summary.sent += 1;
        options.acknowledged?.({ index, format, status, attempts: attempt });
        break;
      }
      const where = `deliveries.${index} (${format})`;
      const retryable = status === 0 || status === 429 || status >= 500;
      if (!retryable)
        throw new BackfillStoppedError(
          `${where} refused: ${status}${problem === "" ? "" : ` ${problem}`}; ` +
            `${progress.acknowledged} deliveries acknowledged, a rerun resumes at this one once it is fixed`,
        );
      if (attempt >= (options.maxAttempts ?? 8))
        throw new BackfillStoppedError(
          `${where}: ${status === 0 ? `no answer (${problem})` : `still ${status}`} after ${attempt} attempts; ` +
            `${progress.acknowledged} deliveries acknowledged, a rerun resumes at this one`,
        );
      const delay = retryAfterMs ?? Math.min((options.backoffMs ?? 500) * 2 ** (attempt - 1), MAX_BACKOFF_MS);
      say(`${where}: ${status === 0 ? "no answer" : status}, attempt ${attempt}; again in ${delay} ms`);
      await sleep(delay);
    }
    if (summary.sent % 100 === 0) say(`${progress.acknowledged} deliveries acknowledged`);
  }
  return summary;
}

/** Retry-After in seconds (the HTTP-date form is not used by API Gateway); undefined when absent or unusable. */
function retryAfter(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  return Math.min(Number(value) * 1000, MAX_BACKOFF_MS);
}

/** A problem+json answer's title or type, on one line; nothing of a body that is not one. */
function problemOf(text: string): string {
  try {
    const problem = JSON.parse(text) as { title?: unknown; type?: unknown; detail?: unknown };
    return [problem.title, problem.detail ?? problem.type]
      .filter((part) => typeof part === "string" && part !== "")
      .join(": ")
      .replace(/\s+/g, " ");
  } catch {
    return "";
  }
}
