/**
 * A credential the vendor API clients authenticate with, read from its secret when first needed and kept for
 * the warm function. When the vendor refuses it, `refresh` makes the next `current` read the secret afresh, so a
 * rotated credential is picked up at once, not at the next cold start.
 */
export interface Credential<T> {
  current(): Promise<T>;
  refresh(): void;
}

/**
 * Reads a secret's value; `forceFetch` skips any cache (Powertools parameters' option of that name). The apply
 * function's reader is Secrets Manager's.
 */
export type SecretReader = (name: string, options?: { forceFetch?: boolean }) => Promise<string>;

/**
 * The credential in secret `name`, made usable by `parse` (which throws for an unusable value). Concurrent
 * callers share one read; a failed read is tried again on the next call.
 */
export function secretCredential<T>(
  readSecret: SecretReader,
  name: string,
  parse: (value: string) => T | Promise<T>,
): Credential<T> {
  let value: Promise<T> | undefined;
  let forceFetch = false;
  return {
    current() {
      value ??= (async () => parse(await readSecret(name, { forceFetch })))().catch((error: unknown) => {
        value = undefined;
        throw error;
      });
      forceFetch = false;
      return value;
    },
    refresh() {
      value = undefined;
      forceFetch = true;
    },
  };
}

/** `secretCredential`, read now: an unreadable secret fails at once (the caller's build, retried later). */
export async function readCredential<T>(
  readSecret: SecretReader,
  name: string,
  parse: (value: string) => T | Promise<T>,
): Promise<Credential<T>> {
  const credential = secretCredential(readSecret, name, parse);
  await credential.current();
  return credential;
}

/** A credential given as a value (tests, the local stack): refreshing it changes nothing. */
export const fixedCredential = <T>(value: T): Credential<T> => ({
  current: async () => value,
  refresh: () => undefined,
});
