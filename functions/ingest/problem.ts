/**
 * RFC 9457 problem details for every rejection. A problem names the failing field path and the reason, never a
 * value from the request, so nothing a vendor sent (PHI included) is echoed back or logged.
 */
export const rejectionReasons = [
  "unknown-format",
  "payload-too-large",
  "unsupported-content-type",
  "missing-signature",
  "bad-signature",
  "stale-timestamp",
  "future-timestamp",
  "invalid-envelope",
  "queue-unavailable",
  "secrets-unavailable",
  "no-active-secret",
] as const;
export type RejectionReason = (typeof rejectionReasons)[number];

const titles: Record<RejectionReason, { status: number; title: string }> = {
  "unknown-format": { status: 404, title: "Unknown webhook format" },
  "payload-too-large": { status: 413, title: "Payload too large" },
  "unsupported-content-type": { status: 415, title: "Unsupported content type" },
  "missing-signature": { status: 401, title: "Signature missing" },
  "bad-signature": { status: 401, title: "Signature does not verify" },
  "stale-timestamp": { status: 401, title: "Timestamp too old" },
  "future-timestamp": { status: 401, title: "Timestamp in the future" },
  "invalid-envelope": { status: 400, title: "Envelope does not match the format's schema" },
  "queue-unavailable": { status: 503, title: "Delivery could not be queued; retry later" },
  "secrets-unavailable": { status: 503, title: "Signing secrets could not be read; retry later" },
  // The deployment created the format's secret empty and no one has put the vendor's key in yet: nothing can
  // verify, so the delivery is refused as unauthenticated (README "Deploy"), and an alarm says why.
  "no-active-secret": { status: 401, title: "No signing secret is set for this format" },
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  /**
   * The failing field: for `invalid-envelope` its path in the body, e.g. `entry.0.resource.parameter`; for a
   * signature the format can pin to one header, that header, e.g. `headers.content-digest`.
   */
  path?: string;
}

export function problemFor(reason: RejectionReason, extra: { detail?: string; path?: string } = {}): Problem {
  const { status, title } = titles[reason];
  return { type: `https://portaltime.dev/problems/${reason}`, title, status, ...extra };
}
