import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  QueryCommand,
} from "@aws-sdk/lib-dynamodb";
import { parseTenantConfig, type TenantConfig } from "../domain/config.js";
import { canonicalJson } from "../domain/fact-digest.js";
import { TENANT_CONFIG_KEY, tableDesign, tenantConfigSortKey } from "./table-design.js";

/**
 * The tenant configuration as versioned data (ARCHITECTURE.md invariant 11): every version a practice pushes
 * is validated with the tenant schema before it is stored, and kept (one item per version in the
 * `TENANT_CONFIG` partition, never rewritten), so the version behind every decision can be read back. The
 * functions read the latest version and refresh it within a minute; nothing travels in their environment.
 *
 * Why items in the episode table rather than AWS AppConfig (through Powertools Parameters): the decision records
 * that name a version live in the same table, under the same key, encryption, backups and retention; every
 * version stays readable for as long as those records (AppConfig keeps hosted versions but is another service
 * to grant, deploy and keep in step); the local stack and the tests run the very same store on DynamoDB Local
 * (AppConfig has no local emulator); and a read is one Query per container and minute, the cost AppConfig's
 * own caching would have.
 */
export interface StoredConfig {
  version: number;
  /** When the version was pushed (ISO instant). */
  pushedAt: string;
  /** Who or what pushed it (an operator's name, `deployment`, `replay`). */
  by: string;
  /** Digest of the parsed configuration: pushing the same configuration again adds no version. */
  digest: string;
  config: TenantConfig;
}

export type PushResult = { status: "pushed"; version: number } | { status: "unchanged"; version: number };

export interface TenantConfigStore {
  /** The latest version, or undefined when none was ever pushed. */
  latest(): Promise<StoredConfig | undefined>;
  /** Every version, oldest first. */
  versions(): Promise<StoredConfig[]>;
  /** One version, or undefined when there is no such version. */
  version(version: number): Promise<StoredConfig | undefined>;
  /** Validates (throws `ConfigurationError` naming the field) and stores a new version unless it changes nothing. */
  push(input: unknown, meta: { at: Date; by: string }): Promise<PushResult>;
}

/** The digest a configuration is compared by: its canonical JSON after validation (defaults filled in). */
export const configDigest = (config: TenantConfig): string =>
  createHash("sha256").update(canonicalJson(config)).digest("hex").slice(0, 32);

/** Two pushes racing for one version number: the loser tries the next. */
const MAX_PUSH_ATTEMPTS = 5;

export class DynamoTenantConfigStore implements TenantConfigStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async latest(): Promise<StoredConfig | undefined> {
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": tableDesign.partitionKey },
        ExpressionAttributeValues: { ":pk": TENANT_CONFIG_KEY },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const item = page.Items?.[0];
    return item === undefined ? undefined : storedConfig(item);
  }

  async versions(): Promise<StoredConfig[]> {
    const versions: StoredConfig[] = [];
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": tableDesign.partitionKey },
        ExpressionAttributeValues: { ":pk": TENANT_CONFIG_KEY },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) for (const item of page.Items ?? []) versions.push(storedConfig(item));
    return versions;
  }

  async version(version: number): Promise<StoredConfig | undefined> {
    const answer = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: {
          [tableDesign.partitionKey]: TENANT_CONFIG_KEY,
          [tableDesign.sortKey]: tenantConfigSortKey(version),
        },
        ConsistentRead: true,
      }),
    );
    return answer.Item === undefined ? undefined : storedConfig(answer.Item);
  }

  async push(input: unknown, meta: { at: Date; by: string }): Promise<PushResult> {
    const config = parseTenantConfig(input);
    const digest = configDigest(config);
    for (let attempt = 1; ; attempt++) {
      const latest = await this.latest();
      if (latest?.digest === digest) return { status: "unchanged", version: latest.version };
      const version = (latest?.version ?? 0) + 1;
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              [tableDesign.partitionKey]: TENANT_CONFIG_KEY,
              [tableDesign.sortKey]: tenantConfigSortKey(version),
              type: "tenant-config",
              version,
              pushedAt: meta.at.toISOString(),
              by: meta.by,
              digest,
              // Compressed: a 2,000-clinician roster is ~250 KB of JSON, ~30 KB gzipped (items stop at 400 KB).
              config: gzipSync(JSON.stringify(input)),
            },
            // Versions are never rewritten (the decisions they made name them).
            ConditionExpression: "attribute_not_exists(#pk)",
            ExpressionAttributeNames: { "#pk": tableDesign.partitionKey },
          }),
        );
        return { status: "pushed", version };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException) || attempt >= MAX_PUSH_ATTEMPTS) throw error;
      }
    }
  }
}

function storedConfig(item: Record<string, unknown>): StoredConfig {
  const raw = item.config instanceof Uint8Array ? item.config : new Uint8Array();
  return {
    version: Number(item.version),
    pushedAt: String(item.pushedAt),
    by: String(item.by),
    digest: String(item.digest),
    config: parseTenantConfig(JSON.parse(gunzipSync(raw).toString("utf8"))),
  };
}

/** No tenant configuration was ever pushed: the finalizer cannot decide anything yet. */
export class MissingTenantConfigError extends Error {
  readonly retryable = true;
  constructor() {
    super("no tenant configuration has been pushed (npm run config -- push)");
    this.name = "MissingTenantConfigError";
  }
}

/** Where a function gets the tenant configuration in force: a version number and the validated configuration. */
export interface TenantConfigSource {
  get(): Promise<Pick<StoredConfig, "version" | "config">>;
}

/** A fixed configuration (tests, the bench): version 0 unless given. */
export const fixedTenantConfig = (config: TenantConfig, version = 0): TenantConfigSource => ({
  get: async () => ({ version, config }),
});

/**
 * What a function holds of the tenant configuration: the latest version, read at most once per `maxAgeMs` (a
 * push reaches every function within that time, without a deploy or a restart).
 */
export class CurrentTenantConfig implements TenantConfigSource {
  private held?: { config: StoredConfig; readAt: number };
  private reading?: Promise<StoredConfig>;

  constructor(
    private readonly store: Pick<TenantConfigStore, "latest">,
    private readonly options: { maxAgeMs: number; clock?: () => number } = { maxAgeMs: 60_000 },
  ) {}

  /** Drops the held version: the next `get` reads the store (after a push this process made). */
  forget(): void {
    this.held = undefined;
  }

  async get(): Promise<StoredConfig> {
    const now = (this.options.clock ?? Date.now)();
    if (this.held !== undefined && now - this.held.readAt < this.options.maxAgeMs) return this.held.config;
    this.reading ??= this.store
      .latest()
      .then((config) => {
        if (config === undefined) throw new MissingTenantConfigError();
        this.held = { config, readAt: now };
        return config;
      })
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }
}
