import * as z from "zod";
import { formatNames } from "../vendors/format.js";

/** What the inbox queue carries from ingest to apply: an accepted delivery, never a secret. */
export const inboxMessageSchema = z.object({
  v: z.literal(1),
  format: z.enum(formatNames),
  kind: z.enum(["event", "handshake", "heartbeat", "query"]),
  dedupeKey: z.string().min(1),
  groupKey: z.string().min(1),
  subscription: z.string().optional(),
  eventNumber: z.number().int().nonnegative().optional(),
  receivedAt: z.iso.datetime({ offset: true }),
  payload: z.unknown(),
});
export type InboxMessage = z.infer<typeof inboxMessageSchema>;
