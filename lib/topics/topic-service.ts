/**
 * Topic lifecycle: create, describe, list, change config, delete. Metadata is cached
 * per process for TOPIC_CACHE_TTL_MS so that appends and reads do not pay a DynamoDB
 * read each; a topic deleted meanwhile is noticed within that time.
 *
 * An append may also start on a copy older than that (up to TOPIC_STALE_APPEND_MS): it
 * re-reads the topic while it commits, and is acknowledged only once the re-read finds
 * the same topic. A Lambda environment that appends now and then thus reads the topic
 * beside its commit rather than before it:
 *
 *     fresh copy    reserve ─▶ fill ─▶ ack
 *     stale copy    reserve ─▶ fill ─▶ ack (once the re-read found the same topicId)
 *                   GetItem topic ──▶
 *     no copy       GetItem topic ─▶ reserve ─▶ fill ─▶ ack
 *
 * A commit into a topic deleted meanwhile is answered 404 and never acknowledged; its
 * items lie in the deleted topic's key space, which garbage collection clears after its
 * grace period (20 minutes at least, far longer than TOPIC_STALE_APPEND_MS).
 *
 * Where the commit itself refuses a deleted topic (the optimistic and write-first
 * sequencers: a topic's delete marks its partitions' heads first, and those commits are
 * conditioned on no mark), a copy needs no re-read for the delete's sake, only for config
 * changes made elsewhere: appends use it for appendRefreshMs (TOPIC_APPEND_REFRESH_MS,
 * 30 s) before the re-read beside the commit starts. A Lambda environment appending
 * several times a second then reads its topic twice a minute, not every second; one
 * appending every few seconds, once in several appends rather than at each.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { RETRY_AFTER_SECONDS, TOPIC_APPEND_REFRESH_MS, TOPIC_CACHE_TTL_MS, TOPIC_STALE_APPEND_MS } from '../core/constants.js';
import { PartitionNotFoundError, RetryableError, type StrataError, TopicNotFoundError, ValidationError } from '../core/errors.js';
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

/** The topic an append commits to, and the check it awaits before it is acknowledged. */
export interface AppendTopic {
  meta: TopicMeta;
  /**
   * Resolves once the topic is known to be the one `meta` describes (at once for a
   * fresh copy). Rejects with TopicNotFoundError when the topic was deleted meanwhile,
   * RetryableError when it was deleted and created again: either way the commit went to
   * the deleted topic and must not be acknowledged. A re-read that fails otherwise
   * resolves: the copy is at most TOPIC_STALE_APPEND_MS old, as a fresh copy may be a
   * TOPIC_CACHE_TTL_MS old.
   */
  confirmed: Promise<void>;
}

const CONFIRMED: Promise<void> = Promise.resolve();

/** How a TopicService caches topics, and what it knows of the commits it serves. */
export interface TopicServiceOptions {
  /** How long a cached copy answers reads (TOPIC_CACHE_TTL_MS; 0: no cache, every append reads first). */
  cacheTtlMs?: number;
  /** A deployment's defaults for new topics' config; a request's own settings win. */
  configDefaults?: TopicConfigPatch;
  /** The high watermark of a partition given its head (the sealer's scan); the counter by default. */
  highWatermark?: (ref: PartitionRef, head: PartitionHead) => Promise<number>;
  /** How old a cached copy an append may start on (forAppend; TOPIC_STALE_APPEND_MS, 0 without a cache). */
  staleAppendMs?: number;
  /**
   * The commits refuse a topic deleted meanwhile themselves (the optimistic and
   * write-first sequencers: a delete marks the heads): appends then keep their copy for
   * TOPIC_APPEND_REFRESH_MS before any re-read (module comment).
   */
  commitsRefuseDeleted?: boolean;
  /** How old a cached copy an append uses without any re-read, overriding what commitsRefuseDeleted gives; at least cacheTtlMs. */
  appendRefreshMs?: number;
}

export class TopicService {
  private readonly cache = new Map<string, { meta: TopicMeta; readAt: number }>();
  /** Re-reads in flight, one per topic, which concurrent callers share. */
  private readonly reading = new Map<string, Promise<TopicMeta>>();
  private readonly cacheTtlMs: number;
  private readonly configDefaults: TopicConfigPatch;
  private readonly highWatermark: (ref: PartitionRef, head: PartitionHead) => Promise<number>;
  private readonly staleAppendMs: number;
  /** How old a cached copy an append uses without any re-read: never less than cacheTtlMs. */
  private readonly appendRefreshMs: number;

  constructor(
    private readonly store: LogStore,
    private readonly clock: Clock,
    options: TopicServiceOptions = {},
  ) {
    this.cacheTtlMs = options.cacheTtlMs ?? TOPIC_CACHE_TTL_MS;
    const cached = this.cacheTtlMs > 0;
    this.configDefaults = options.configDefaults ?? {};
    this.highWatermark = options.highWatermark ?? (async (_ref, head) => head.nextOffset);
    this.staleAppendMs = options.staleAppendMs ?? (cached ? TOPIC_STALE_APPEND_MS : 0);
    const refresh = options.appendRefreshMs ?? (cached && options.commitsRefuseDeleted ? TOPIC_APPEND_REFRESH_MS : 0);
    this.appendRefreshMs = Math.max(this.cacheTtlMs, refresh);
  }

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
    this.remember(meta, now);
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
    if (cached && this.fresh(cached.readAt, this.clock.now())) return cached.meta;
    return this.read(name);
  }

  /** The partition of `topic`, checked to exist. */
  async partition(topic: string, partition: number): Promise<{ meta: TopicMeta; ref: PartitionRef }> {
    const meta = await this.get(topic);
    checkPartition(meta, partition);
    return { meta, ref: { topic, topicId: meta.topicId, partition } };
  }

  /**
   * The topic an append commits to: the cached copy while fresh; a copy up to
   * staleAppendMs old with a re-read that the append awaits before it is acknowledged
   * (module comment); else the topic read now.
   */
  async forAppend(name: string, partition?: number): Promise<AppendTopic> {
    const cached = this.cache.get(name);
    const now = this.clock.now();
    if (cached && now - cached.readAt < this.appendRefreshMs) {
      return this.checked({ meta: cached.meta, confirmed: CONFIRMED }, partition);
    }
    // A partition the copy lacks: the topic may have been created again with more (a 404 needs a fresh copy).
    const lacksPartition = partition !== undefined && cached !== undefined && !hasPartition(cached.meta, partition);
    if (!cached || now - cached.readAt > this.staleAppendMs || lacksPartition) {
      return this.checked({ meta: await this.read(name), confirmed: CONFIRMED }, partition);
    }
    const stale = cached.meta;
    const confirmed = this.read(name).then(
      (meta) => {
        if (meta.topicId !== stale.topicId) throw deletedAndCreatedAgain(name);
      },
      (err: unknown) => {
        if (err instanceof TopicNotFoundError) throw err;
      },
    );
    // The append may fail before it awaits the check.
    confirmed.catch(() => undefined);
    return { meta: stale, confirmed };
  }

  /**
   * What to answer for an append whose commit found its partition's head marked deleted
   * (the topic as `meta` describes it is gone): 503 RETRY when a topic of the name exists
   * again, so that the append is sent to it; 404 otherwise. Drops the cached copy.
   */
  async deletedUnder(meta: TopicMeta): Promise<StrataError> {
    this.cache.delete(meta.name);
    const current = await this.load(meta.name).catch((err: unknown) => {
      if (err instanceof TopicNotFoundError) return undefined;
      throw err;
    });
    if (current === undefined || current.topicId === meta.topicId) return new TopicNotFoundError(meta.name);
    return deletedAndCreatedAgain(meta.name);
  }

  /**
   * Reads the topic from the store and caches it; gets and appends share one read in
   * flight per topic.
   */
  private read(name: string): Promise<TopicMeta> {
    const inFlight = this.reading.get(name);
    if (inFlight) return inFlight;
    const reading = this.load(name).finally(() => this.reading.delete(name));
    this.reading.set(name, reading);
    return reading;
  }

  /**
   * A read of the topic that starts now, and caches what it finds: describe, updateConfig
   * and delete must not answer from a read that began before them (it may predate a
   * delete or a config change made elsewhere).
   */
  private load(name: string): Promise<TopicMeta> {
    checkName(name);
    const now = this.clock.now();
    return this.store.getTopic(name).then((meta) => {
      if (!meta) {
        this.cache.delete(name);
        throw new TopicNotFoundError(name);
      }
      this.remember(meta, now);
      return meta;
    });
  }

  /** Caches a copy read at `readAt`, unless the cache holds one read later. */
  private remember(meta: TopicMeta, readAt: number): void {
    const cached = this.cache.get(meta.name);
    if (cached && cached.readAt > readAt) return;
    this.cache.set(meta.name, { meta, readAt });
  }

  /** Whether a copy read at `readAt` is still within the cache TTL at `now`. */
  private fresh(readAt: number, now: number): boolean {
    return now - readAt < this.cacheTtlMs;
  }

  private checked(topic: AppendTopic, partition: number | undefined): AppendTopic {
    if (partition !== undefined) checkPartition(topic.meta, partition);
    return topic;
  }

  async list(): Promise<TopicMeta[]> {
    const topics = await this.store.listTopics();
    return topics.sort((a, b) => a.name.localeCompare(b.name));
  }

  async describe(name: string): Promise<TopicDescription> {
    const meta = await this.load(name);
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
      const meta = await this.load(name);
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
    const meta = await this.load(name);
    this.cache.delete(name);
    if (!(await this.store.deleteTopic(meta, this.clock.now()))) throw new TopicNotFoundError(name);
  }
}

function deletedAndCreatedAgain(name: string): RetryableError {
  return new RetryableError(
    `topic '${name}' was deleted and created again while this append committed; nothing was acknowledged, send it again`,
    RETRY_AFTER_SECONDS,
  );
}

/** Every partition of a topic incarnation. */
export function refsOf(meta: TopicMeta): PartitionRef[] {
  return Array.from({ length: meta.partitions }, (_, partition) => ({
    topic: meta.name,
    topicId: meta.topicId,
    partition,
  }));
}

function hasPartition(meta: TopicMeta, partition: number): boolean {
  return Number.isInteger(partition) && partition >= 0 && partition < meta.partitions;
}

function checkPartition(meta: TopicMeta, partition: number): void {
  if (!hasPartition(meta, partition)) throw new PartitionNotFoundError(meta.name, partition, meta.partitions);
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
