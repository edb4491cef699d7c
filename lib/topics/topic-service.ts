/**
 * Topic lifecycle: create, describe, list, change config, delete. Metadata is cached
 * per process for TOPIC_CACHE_TTL_MS so that appends and reads do not pay a DynamoDB
 * read each; a topic deleted meanwhile is noticed within that time.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { RETRY_AFTER_SECONDS, TOPIC_CACHE_TTL_MS } from '../core/constants.js';
import { PartitionNotFoundError, RetryableError, TopicNotFoundError, ValidationError } from '../core/errors.js';
import { parseOrThrow } from '../core/validation.js';
import type { LogStore } from '../ports/log-store.js';
import type { PartitionHead, PartitionRef, TopicMeta } from '../ports/model.js';
import { createTopicSchema, type TopicConfigPatch, topicConfigPatchSchema, topicConfigSchema, topicNameSchema } from './topic-config.js';

/** What describe answers: the topic and each partition's bounds. */
export interface TopicDescription extends Omit<TopicMeta, 'version'> {
  partitionStates: PartitionState[];
}

/**
 * One partition as describe shows it: the head (exact, strongly consistent) and what the
 * last maintenance pass counted (segments change only in those passes and in flushes).
 */
export interface PartitionState extends PartitionHead {
  partition: number;
  /** The end of the contiguous prefix of filled offsets: where a consumer that read everything is. */
  highWatermark: number;
  /** Segments on S3 and their bytes, as of the last maintenance pass. */
  segments: number;
  segmentBytes: number;
  /** Segment bytes plus the unflushed tail. */
  bytes: number;
  lastCompactionAt: number | null;
  lastRetentionAt: number | null;
}

/** How many times a config change re-reads and retries after a concurrent change. */
const CONFIG_UPDATE_ATTEMPTS = 5;

export class TopicService {
  private readonly cache = new Map<string, { meta: TopicMeta; expiresAt: number }>();

  constructor(
    private readonly store: LogStore,
    private readonly clock: Clock,
    private readonly cacheTtlMs = TOPIC_CACHE_TTL_MS,
    /** A deployment's defaults for new topics' config; a request's own settings win. */
    private readonly configDefaults: TopicConfigPatch = {},
    /** The high watermark of a partition given its head (the sealer's scan); the counter by default. */
    private readonly highWatermark: (ref: PartitionRef, head: PartitionHead) => Promise<number> = async (_ref, head) => head.nextOffset,
  ) {}

  /** Creates a topic from an untrusted request body `{name, partitions, config}`. */
  async create(request: unknown): Promise<TopicMeta> {
    const parsed = parseOrThrow(createTopicSchema, this.withConfigDefaults(request), 'topic');
    const now = this.clock.now();
    const meta: TopicMeta = {
      name: parsed.name,
      topicId: randomUUID().replaceAll('-', '').slice(0, 16),
      partitions: parsed.partitions,
      config: parsed.config,
      createdAt: now,
      updatedAt: now,
      version: 1,
    };
    await this.store.createTopic(meta);
    this.cache.set(meta.name, { meta, expiresAt: now + this.cacheTtlMs });
    return meta;
  }

  /** The request with the deployment's config defaults under its own config (left alone when malformed: validation says why). */
  private withConfigDefaults(request: unknown): unknown {
    if (Object.keys(this.configDefaults).length === 0 || !isPlainObject(request)) return request;
    const config = request.config;
    if (config !== undefined && !isPlainObject(config)) return request;
    return { ...request, config: { ...this.configDefaults, ...config } };
  }

  /** The topic's metadata (cached briefly); TopicNotFoundError if it does not exist. */
  async get(name: string): Promise<TopicMeta> {
    const cached = this.cache.get(name);
    const now = this.clock.now();
    if (cached && cached.expiresAt > now) return cached.meta;
    checkName(name);
    const meta = await this.store.getTopic(name);
    if (!meta) {
      this.cache.delete(name);
      throw new TopicNotFoundError(name);
    }
    this.cache.set(name, { meta, expiresAt: now + this.cacheTtlMs });
    return meta;
  }

  /** The partition of `topic`, checked to exist. */
  async partition(topic: string, partition: number): Promise<{ meta: TopicMeta; ref: PartitionRef }> {
    const meta = await this.get(topic);
    if (!Number.isInteger(partition) || partition < 0 || partition >= meta.partitions) {
      throw new PartitionNotFoundError(topic, partition, meta.partitions);
    }
    return { meta, ref: { topic, topicId: meta.topicId, partition } };
  }

  async list(): Promise<TopicMeta[]> {
    const topics = await this.store.listTopics();
    return topics.sort((a, b) => a.name.localeCompare(b.name));
  }

  async describe(name: string): Promise<TopicDescription> {
    this.cache.delete(name);
    const meta = await this.get(name);
    const refs = refsOf(meta);
    const [heads, stats] = await Promise.all([this.store.getHeads(refs), this.store.getPartitionStats(refs)]);
    const highWatermarks = await Promise.all(heads.map((head, partition) => this.highWatermark(refs[partition]!, head)));
    const { version: _version, ...topic } = meta;
    return {
      ...topic,
      partitionStates: heads.map((head, partition) => {
        const s = stats[partition];
        return {
          partition,
          ...head,
          highWatermark: highWatermarks[partition]!,
          segments: s?.segments ?? 0,
          segmentBytes: s?.segmentBytes ?? 0,
          bytes: (s?.segmentBytes ?? 0) + head.tailBytes,
          lastCompactionAt: s?.lastCompactionAt ?? null,
          lastRetentionAt: s?.lastRetentionAt ?? null,
        };
      }),
    };
  }

  /** Applies a config patch (any subset of the config fields); takes effect within the cache TTL. */
  async updateConfig(name: string, patch: unknown): Promise<TopicMeta> {
    const changes = parseOrThrow(topicConfigPatchSchema, patch, 'config');
    for (let attempt = 0; attempt < CONFIG_UPDATE_ATTEMPTS; attempt++) {
      this.cache.delete(name);
      const meta = await this.get(name);
      const config = parseOrThrow(topicConfigSchema, { ...meta.config, ...changes }, 'config');
      const updated: TopicMeta = { ...meta, config, updatedAt: this.clock.now(), version: meta.version + 1 };
      if (await this.store.updateTopic(updated, meta.version)) {
        this.cache.delete(name);
        return updated;
      }
    }
    throw new RetryableError(`topic '${name}' changed concurrently ${CONFIG_UPDATE_ATTEMPTS} times; try again`, RETRY_AFTER_SECONDS);
  }

  /** Deletes the topic at once; its data is removed later by the compaction job. */
  async delete(name: string): Promise<void> {
    this.cache.delete(name);
    const meta = await this.get(name);
    this.cache.delete(name);
    if (!(await this.store.deleteTopic(meta, this.clock.now()))) throw new TopicNotFoundError(name);
  }
}

/** Every partition of a topic incarnation. */
export function refsOf(meta: TopicMeta): PartitionRef[] {
  return Array.from({ length: meta.partitions }, (_, partition) => ({
    topic: meta.name,
    topicId: meta.topicId,
    partition,
  }));
}

function checkName(name: string): void {
  const result = topicNameSchema.safeParse(name);
  if (!result.success) {
    throw new ValidationError(`invalid topic name '${name.slice(0, 300)}': ${result.error.issues[0]?.message}`);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
