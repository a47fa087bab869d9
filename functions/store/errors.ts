/** Errors of the store adapters. Each names what a caller needs to decide on; none carries PHI. */

/** An item the store cannot read (not JSON, or not the shape it was written with). Not retryable: a person must look. */
export class CorruptItemError extends Error {
  readonly retryable = false;
  constructor(
    /** The item's sort key: kept with the quarantined patient (in the table), never logged. */
    readonly key: string,
    readonly reason: string,
  ) {
    super(`an unreadable ${itemKind(key)} item: ${reason}`);
    this.name = "CorruptItemError";
  }
}

/** What kind of item a sort key names, for messages that must not carry the key itself. */
export function itemKind(sortKey: string): string {
  if (sortKey === "STATE") return "patient state";
  const prefix = sortKey.slice(0, sortKey.indexOf("#"));
  return { FACT: "fact", EPISODE: "episode record", OUTBOX: "outbox" }[prefix] ?? "unknown";
}
