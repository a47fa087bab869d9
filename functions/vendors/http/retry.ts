/**
 * What the resource fetchers share (SMART FHIR, Healthie, Elation): requests, bodies, and the retry loop. Transient failures (network, timeout, 408, 429, 5xx) are retried with exponential backoff
 * and equal jitter, a `Retry-After` is honoured up to the longest wait, and one that asks for more ends the
 * attempts early so SQS retries the message later.
 */

export interface RetryOptions {
  /** Attempts for transient failures. Default 3. */
  maxAttempts?: number;
  /** The first backoff; each further one doubles. Default 200 ms. */
  baseDelayMs?: number;
  /** The longest wait between attempts. A longer `Retry-After` ends the attempts early. Default 5 s. */
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Epoch milliseconds, for `Retry-After` dates. */
  now?: () => number;
}

/** One attempt's outcome when it does not end in an error thrown as is. */
export type AttemptOutcome<T> =
  | { kind: "done"; value: T }
  /** Worth another attempt after a wait; `error` is thrown when none is left. */
  | { kind: "transient"; error: Error; retryAfterMs?: number }
  /** Try again at once without counting an attempt (a refreshed token). The caller bounds how often. */
  | { kind: "again" };

export interface Retrier {
  /** Runs `attempt` until it is done, throws, or the transient failures use up the attempts. */
  run<T>(attempt: () => Promise<AttemptOutcome<T>>): Promise<T>;
  /** A transient outcome for a failed response, carrying its `Retry-After`. */
  transient(error: Error, response?: Response): AttemptOutcome<never>;
}

export function createRetrier(options: RetryOptions = {}): Retrier {
  const maxAttempts = options.maxAttempts ?? 3;
  const baseDelayMs = options.baseDelayMs ?? 200;
  const maxDelayMs = options.maxDelayMs ?? 5_000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = options.now ?? Date.now;

  /** The wait after failed attempt `attemptNumber`; undefined when the server asks for more than we wait. */
  function delayBefore(attemptNumber: number, retryAfterMs: number | undefined): number | undefined {
    if (retryAfterMs !== undefined) return retryAfterMs <= maxDelayMs ? retryAfterMs : undefined;
    // Equal jitter: retries of many messages spread out, yet each waits half the exponential delay or more.
    const exponential = Math.min(maxDelayMs, baseDelayMs * 2 ** (attemptNumber - 1));
    return exponential / 2 + Math.random() * (exponential / 2);
  }

  return {
    async run(attempt) {
      for (let attemptNumber = 1; ; ) {
        const outcome = await attempt();
        if (outcome.kind === "done") return outcome.value;
        if (outcome.kind === "again") continue;
        const delayMs =
          attemptNumber < maxAttempts ? delayBefore(attemptNumber, outcome.retryAfterMs) : undefined;
        if (delayMs === undefined) throw outcome.error;
        await sleep(delayMs);
        attemptNumber += 1;
      }
    },
    transient(error, response) {
      const retryAfterMs = parseRetryAfter(response?.headers.get("retry-after") ?? null, now());
      return { kind: "transient", error, retryAfterMs };
    },
  };
}

/** Statuses worth retrying soon: timeout, throttling, server errors. */
export const isTransientStatus = (status: number): boolean =>
  status === 408 || status === 429 || status >= 500;

/**
 * One request that never follows redirects (a redirect could lead to another host), bounded by `timeoutMs`
 * including the body. Undefined when the network failed or the timeout fired.
 */
export async function send(
  url: URL | string,
  init: RequestInit,
  timeoutMs: number,
): Promise<Response | undefined> {
  try {
    return await fetch(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
  } catch {
    return undefined;
  }
}

/** The body as text; undefined when the timeout fired or the connection dropped mid-body. */
export async function readText(response: Response): Promise<string | undefined> {
  try {
    return await response.text();
  } catch {
    return undefined;
  }
}

/** Drops a body unread: bodies of failures may echo PHI. */
export async function discardBody(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // Nothing to release.
  }
}

/** The text as JSON; undefined when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** `Retry-After` (seconds or an HTTP-date) in milliseconds from now; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, nowMs: number): number | undefined {
  if (header === null) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const dateMs = Date.parse(header);
  return Number.isNaN(dateMs) ? undefined : Math.max(0, dateMs - nowMs);
}
