import * as z from "zod";
import { InvalidCursorError } from "../store/review-store.js";
import { reviewStatuses } from "../store/table-design.js";
import { auditPacketHtml, auditPacketSchema } from "./audit-packet.js";
import { InvalidResolutionError, ReviewError } from "./errors.js";
import { captureFiguresSchema } from "./figures.js";
import { resolutionRequestSchema } from "./resolution.js";
import { reviewPageCsp, reviewPageHtml } from "./review-page.js";
import type { ReviewService } from "./review-service.js";

/**
 * The review API (issue 15) as one function of a request, whatever serves it: the deployed function behind API
 * Gateway (IAM decides who may call it), `npm start` (the development token), the biller's console. Every
 * answer that is not a success is RFC 9457 problem+json naming the failing field, never a value sent.
 */

export interface ReviewRequest {
  method: string;
  /** The path from `/review` on, e.g. `/review/items`. */
  path: string;
  query: URLSearchParams;
  /** Lower-case names. */
  headers: Record<string, string | undefined>;
  body?: string;
}

export interface ReviewResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export const listQuerySchema = z.object({
  status: z.enum(reviewStatuses).default("open"),
  cursor: z.string().min(1).max(2048).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const figuresQuerySchema = z.object({ weeks: z.coerce.number().int().min(1).max(26).default(8) });

export const reviewItemSchema = z
  .object({
    id: z.string(),
    kind: z.enum(["episode", "unattributed-time", "quarantined-patient"]),
    status: z.enum(reviewStatuses),
    patientId: z.string(),
    episodeId: z.string().optional(),
    family: z.string().optional(),
    windowStart: z.string().optional(),
    windowEnd: z.string().optional(),
    totalMinutes: z.number().optional(),
    reasons: z.array(z.string()),
    evidence: z.record(z.string(), z.unknown()),
  })
  .meta({ title: "Review item" });

export const listResponseSchema = z.object({ items: z.array(reviewItemSchema), next: z.string().optional() });

export const resolutionResponseSchema = z.object({
  itemId: z.string(),
  attestation: z.object({
    id: z.string(),
    at: z.string(),
    by: z.string(),
    patientId: z.string(),
    episodeId: z.string().optional(),
    resolution: z.record(z.string(), z.unknown()),
  }),
  note: z.string(),
});

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    /** The failing field, e.g. `consentDate` or `query.status`. */
    path: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ title: "Problem" });
type Problem = z.infer<typeof problemSchema>;

const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}): ReviewResponse => ({
  statusCode,
  headers: { "content-type": "application/json", "cache-control": "no-store", ...headers },
  body: JSON.stringify(body),
});

export const problem = (status: number, reason: string, title: string, extra: Partial<Problem> = {}) => ({
  statusCode: status,
  headers: { "content-type": "application/problem+json", "cache-control": "no-store" },
  body: JSON.stringify({ type: `https://portaltime.dev/problems/${reason}`, title, status, ...extra }),
});

/** zod issues as the failing paths and messages; zod's messages name what was expected, never the value. */
function invalid(error: z.ZodError, prefix?: string): ReviewResponse {
  const errors = error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter((part) => part !== undefined && part !== "").join("."),
    message: issue.message,
  }));
  return problem(400, "invalid-request", "The request is not valid", {
    path: errors[0]?.path,
    detail: errors.map((e) => `${e.path || "body"}: ${e.message}`).join("; "),
    errors,
  });
}

/** The biller's page with its headers: only its own script (by hash), never framed or sniffed. */
export const reviewPage = (): ReviewResponse => ({
  statusCode: 200,
  headers: {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "content-security-policy": reviewPageCsp,
    "x-content-type-options": "nosniff",
  },
  body: reviewPageHtml,
});

const ITEM_RESOLUTIONS = /^\/review\/items\/([^/]+)\/resolutions$/;
const CLAIM_LINE = /^\/review\/claim-lines\/([^/]+)$/;

export async function handleReviewRequest(
  request: ReviewRequest,
  service: ReviewService,
): Promise<ReviewResponse> {
  const { method, path } = request;
  try {
    // The page calls the API by relative URLs: it must be loaded from `/review/`.
    if (method === "GET" && path === "/review")
      return { statusCode: 301, headers: { location: "review/", "cache-control": "no-store" }, body: "" };
    if (method === "GET" && path === "/review/") return reviewPage();
    if (method === "GET" && path === "/review/openapi.json") return json(200, reviewOpenApi());
    if (method === "GET" && path === "/review/figures") {
      const query = figuresQuerySchema.safeParse(Object.fromEntries(request.query));
      if (!query.success) return invalid(query.error, "query");
      return json(200, await service.figures(query.data.weeks));
    }
    if (method === "GET" && path === "/review/items") {
      const query = listQuerySchema.safeParse(Object.fromEntries(request.query));
      if (!query.success) return invalid(query.error, "query");
      const page = await service.list(query.data.status, query.data.cursor, query.data.limit);
      return json(200, page);
    }
    const resolution = ITEM_RESOLUTIONS.exec(path);
    if (resolution !== null) {
      if (method !== "POST") return problem(405, "method-not-allowed", "Method not allowed");
      if (!(request.headers["content-type"] ?? "").startsWith("application/json"))
        return problem(415, "unsupported-content-type", "Send the resolution as application/json", {
          path: "headers.content-type",
        });
      let body: unknown;
      try {
        body = JSON.parse(request.body ?? "");
      } catch {
        return problem(400, "invalid-request", "The body is not JSON", { path: "body" });
      }
      const parsed = resolutionRequestSchema.safeParse(body);
      if (!parsed.success) return invalid(parsed.error);
      const itemId = decodeURIComponent(resolution[1] as string);
      const { attestation } = await service.resolve(itemId, parsed.data);
      return json(
        201,
        {
          itemId,
          attestation: {
            id: attestation.id,
            at: attestation.at,
            by: attestation.by,
            patientId: attestation.patientId,
            ...(attestation.episodeId !== undefined && { episodeId: attestation.episodeId }),
            resolution: attestation.resolution,
          },
          note: "recorded: the next finalizer run decides the patient again from what it resolves",
        },
        { location: `/review/attestations/${encodeURIComponent(attestation.id)}` },
      );
    }
    const line = CLAIM_LINE.exec(path);
    if (line !== null && method === "GET") {
      const packet = await service.auditPacket(decodeURIComponent(line[1] as string));
      if ((request.headers.accept ?? "").includes("text/html"))
        return {
          statusCode: 200,
          headers: {
            "content-type": "text/html; charset=utf-8",
            "cache-control": "no-store",
            "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
          },
          body: auditPacketHtml(packet),
        };
      return json(200, packet);
    }
    return problem(404, "not-found", "Not found");
  } catch (error) {
    if (error instanceof InvalidCursorError)
      return problem(400, "invalid-request", "The cursor is not one this listing gave out", {
        path: "query.cursor",
      });
    if (error instanceof InvalidResolutionError)
      return problem(400, "invalid-request", "The resolution is not valid for this item", {
        path: error.path,
        detail: error.message,
        errors: [{ path: error.path, message: error.reason }],
      });
    if (error instanceof URIError) return problem(404, "not-found", "Not found");
    if (error instanceof ReviewError) {
      const reason =
        error.statusCode === 404 ? "not-found" : error.statusCode === 409 ? "conflict" : "review-error";
      return problem(error.statusCode, reason, error.message);
    }
    throw error;
  }
}

const schema = (s: z.ZodType, io: "input" | "output" = "output") =>
  z.toJSONSchema(s, { io, unrepresentable: "any" });

/** OpenAPI 3.1 of the review API, generated from the same zod schemas that check requests and shape answers. */
export function reviewOpenApi() {
  const problemResponse = (description: string) => ({
    description,
    content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
  });
  return {
    openapi: "3.1.0",
    info: {
      title: "portaltime review API",
      version: "1.0.0",
      description:
        "The biller's worklist (needs-review episodes, unattributed clinician time, quarantined patients), " +
        "resolutions as attestations (DOMAIN R19), and the audit packet of a claim line.",
    },
    security: [{ sigv4: [] }, { localToken: [] }],
    paths: {
      "/review/items": {
        get: {
          operationId: "listReviewItems",
          parameters: ["status", "cursor", "limit"].map((name) => ({
            name,
            in: "query",
            required: false,
            schema: schema(listQuerySchema.shape[name as keyof typeof listQuerySchema.shape], "input"),
          })),
          responses: {
            "200": {
              description: "A page of items",
              content: { "application/json": { schema: schema(listResponseSchema) } },
            },
            "400": problemResponse("A query parameter is not valid"),
          },
        },
      },
      "/review/figures": {
        get: {
          operationId: "captureFigures",
          parameters: [
            {
              name: "weeks",
              in: "query",
              required: false,
              schema: schema(figuresQuerySchema.shape.weeks, "input"),
            },
          ],
          responses: {
            "200": {
              description: "Capture figures",
              content: { "application/json": { schema: schema(captureFiguresSchema) } },
            },
            "400": problemResponse("A query parameter is not valid"),
          },
        },
      },
      "/review/items/{id}/resolutions": {
        post: {
          operationId: "resolveReviewItem",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
          requestBody: {
            required: true,
            content: { "application/json": { schema: schema(resolutionRequestSchema, "input") } },
          },
          responses: {
            "201": {
              description: "The attestation was recorded",
              content: { "application/json": { schema: schema(resolutionResponseSchema) } },
            },
            "400": problemResponse("The body is not valid (the failing field is named)"),
            "404": problemResponse("No item has this id"),
            "409": problemResponse("The resolution no longer applies to the item"),
          },
        },
      },
      "/review/claim-lines/{claimLineId}": {
        get: {
          operationId: "claimLineAuditPacket",
          parameters: [{ name: "claimLineId", in: "path", required: true, schema: { type: "string" } }],
          responses: {
            "200": {
              description: "The audit packet (JSON, or printable HTML with Accept: text/html)",
              content: {
                "application/json": { schema: schema(auditPacketSchema) },
                "text/html": { schema: { type: "string" } },
              },
            },
            "404": problemResponse("No line with this id was sent"),
          },
        },
      },
    },
    components: {
      schemas: { Problem: schema(problemSchema) },
      securitySchemes: {
        sigv4: {
          type: "apiKey",
          name: "Authorization",
          in: "header",
          description:
            "Deployed: AWS Signature Version 4 (API Gateway IAM authorization); IAM policies decide who may call.",
          "x-amazon-apigateway-authtype": "awsSigv4",
        },
        localToken: {
          type: "http",
          scheme: "bearer",
          description: "npm start only: the development token portaltime-local-review-token.",
        },
      },
    },
  };
}
