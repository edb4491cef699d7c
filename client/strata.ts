/**
 * The Strata client: one object per application, holding the connection settings. It
 * makes producers and consumers and answers the administrative calls (topics, offsets,
 * groups) directly.
 *
 * @example
 * const strata = new Strata({ url: 'http://127.0.0.1:4510' });
 * await strata.createTopic('orders', { partitions: 3 });
 * const producer = strata.producer();
 * await producer.send('orders', [{ key: 'customer-1', value: 'created' }]);
 * await producer.close();
 * for await (const record of strata.subscribe('orders', { group: 'billing' })) {
 *   console.log(record.partition, record.offset, record.value?.toString());
 * }
 */

import { StrataError } from '../lib/core/errors.js';
import { BATCHES_MEDIA_TYPE, decodeFrame } from '../lib/format/batch-frame.js';
import type { PushDiscovery } from '../lib/push/protocol.js';
import type { TopicConfig } from '../lib/topics/topic-config.js';
import type {
  AppendResult,
  CommittedOffset,
  GroupDescription,
  GroupOffsets,
  JsonReadResult,
  Membership,
  OffsetCommit,
  OffsetLookup,
  TopicDescription,
  TopicInfo,
  TopicList,
} from '../lib/wire/api.js';
import { Consumer, type SubscribeOptions } from './consumer.js';
import type { AppendApi, GroupApi, ProducerStamp, ReadApi, ReadFormat, ReadOptions, ReadResult } from './ports.js';
import { Producer, type ProducerOptions } from './producer.js';
import { allText, fromStored, fromWire, type ProducerRecord, toWire } from './records.js';
import { Transport, type TransportOptions } from './transport.js';

export type {
  AppendResult,
  CommittedOffset,
  GroupDescription,
  Membership,
  OffsetCommit,
  PartitionState,
  TopicDescription,
  TopicInfo,
} from '../lib/wire/api.js';
export type { ReadFormat, ReadOptions, ReadResult } from './ports.js';

export type StrataOptions = TransportOptions & {
  /**
   * How reads travel: `batches` (default) asks for the record batches as stored
   * (`application/vnd.strata.batches`: no JSON or base64 on either side, CRCs checked
   * here); `json` asks for the JSON answer, as curl gets it.
   */
  readFormat?: ReadFormat;
};

const enc = encodeURIComponent;

export class Strata implements AppendApi, ReadApi, GroupApi {
  /** @internal */
  readonly transport: Transport;

  private readonly readFormat: ReadFormat;

  constructor(options: StrataOptions) {
    this.transport = new Transport(options);
    this.readFormat = options.readFormat ?? 'batches';
  }

  get url(): string {
    return this.transport.baseUrl;
  }

  createTopic(name: string, options: { partitions?: number; config?: Partial<TopicConfig> } = {}): Promise<TopicInfo> {
    return this.transport.request('POST', '/v1/topics', {
      body: { name, partitions: options.partitions ?? 1, ...(options.config ? { config: options.config } : {}) },
    });
  }

  async listTopics(): Promise<TopicInfo[]> {
    return (await this.transport.request<TopicList>('GET', '/v1/topics')).topics;
  }

  describeTopic(name: string): Promise<TopicDescription> {
    return this.transport.request('GET', `/v1/topics/${enc(name)}`);
  }

  updateTopicConfig(name: string, config: Partial<TopicConfig>): Promise<TopicInfo> {
    return this.transport.request('PATCH', `/v1/topics/${enc(name)}`, { body: { config } });
  }

  async deleteTopic(name: string): Promise<void> {
    await this.transport.request('DELETE', `/v1/topics/${enc(name)}`);
  }

  /**
   * One append request, as sent: no batching, no retry. With `partition`, to that
   * partition (and `expectedOffset` makes it conditional); else partitioned per record.
   */
  append(
    topic: string,
    records: ProducerRecord[],
    options: { partition?: number; expectedOffset?: number; producer?: ProducerStamp } = {},
  ): Promise<AppendResult> {
    const encoding = allText(records) ? 'utf8' : 'base64';
    const body: Record<string, unknown> = { records: toWire(records, encoding, options.partition === undefined), encoding };
    if (options.expectedOffset !== undefined) body.expectedOffset = options.expectedOffset;
    if (options.producer) body.producer = options.producer;
    const path =
      options.partition === undefined
        ? `/v1/topics/${enc(topic)}/records`
        : `/v1/topics/${enc(topic)}/partitions/${options.partition}/records`;
    return this.transport.request('POST', path, { body });
  }

  /**
   * One read of a partition from `offset` (default the log start). By default it reads
   * the stored batches (the server copies them, this client checks their offsets and
   * CRCs and decodes them; a corrupt answer is CorruptDataError). The server bounds a
   * binary read by whole batches; the answer is cut here to `maxRecords`, so both
   * formats return at most that many records. `maxBytes` is approximate in both.
   */
  async read(topic: string, partition: number, options: ReadOptions = {}): Promise<ReadResult> {
    const path = `/v1/topics/${enc(topic)}/partitions/${partition}/records`;
    const request = {
      query: {
        offset: options.offset,
        maxRecords: options.maxRecords,
        maxBytes: options.maxBytes,
        waitMs: options.waitMs,
        encoding: 'base64',
      },
      extraTimeoutMs: options.waitMs ?? 0,
      ...(options.signal ? { signal: options.signal } : {}),
    };
    if ((options.format ?? this.readFormat) === 'json')
      return this.jsonRead(topic, partition, await this.transport.request<JsonReadResult>('GET', path, request));
    // A server without binary reads answers JSON, which this accepts too.
    const answer = await this.transport.requestBytes('GET', path, { ...request, accept: `${BATCHES_MEDIA_TYPE}, application/json;q=0.5` });
    if (!answer.contentType.startsWith(BATCHES_MEDIA_TYPE)) {
      return this.jsonRead(topic, partition, JSON.parse(Buffer.from(answer.body).toString('utf8')) as JsonReadResult);
    }
    return this.frameResult(topic, partition, answer.body, options.maxRecords);
  }

  /**
   * The records of a binary read's frame (a read's answer, or the frame a push
   * notification carried), offsets and CRCs checked; CorruptDataError if they are not.
   * @internal
   */
  frameResult(topic: string, partition: number, bytes: Uint8Array, maxRecords?: number): ReadResult {
    const frame = decodeFrame(bytes);
    let records = frame.records;
    let nextOffset = frame.nextOffset;
    if (maxRecords !== undefined && records.length > maxRecords) {
      // Any offset after the last record kept and up to the next one continues the read.
      records = records.slice(0, maxRecords);
      nextOffset = records.at(-1)!.offset + 1;
    }
    return {
      topicId: frame.topicId,
      records: records.map((r) => fromStored(topic, partition, r)),
      nextOffset,
      highWatermark: frame.highWatermark,
      logStartOffset: frame.logStartOffset,
    };
  }

  private jsonRead(topic: string, partition: number, result: JsonReadResult): ReadResult {
    return { ...result, records: result.records.map((r) => fromWire(topic, partition, r)) };
  }

  /** Kafka's ListOffsets: `earliest`, `latest`, or the first offset with a timestamp ≥ T. */
  lookupOffset(topic: string, partition: number, at: 'earliest' | 'latest' | number): Promise<OffsetLookup> {
    return this.transport.request('GET', `/v1/topics/${enc(topic)}/partitions/${partition}/offsets`, { query: { at } });
  }

  /**
   * Commits group positions atomically (the offset of the next record to process). With
   * `fence`, as a group member: refused with STALE_GENERATION once the group rebalanced.
   * A position carrying the `topicId` of a read is refused with TOPIC_INCARNATION_MISMATCH
   * once the topic was deleted and re-created.
   */
  async commitOffsets(
    group: string,
    offsets: OffsetCommit[],
    fence?: { memberId: string; generation: number },
  ): Promise<CommittedOffset[]> {
    const body = { offsets, ...(fence ?? {}) };
    return (await this.transport.request<GroupOffsets>('PUT', `/v1/groups/${enc(group)}/offsets`, { body })).offsets;
  }

  async fetchOffsets(group: string, topic?: string): Promise<CommittedOffset[]> {
    return (await this.transport.request<GroupOffsets>('GET', `/v1/groups/${enc(group)}/offsets`, { query: { topic } })).offsets;
  }

  describeGroup(group: string): Promise<GroupDescription> {
    return this.transport.request('GET', `/v1/groups/${enc(group)}`);
  }

  /** Group membership, as the consumer uses it; exposed for custom consumers. */
  joinGroup(
    group: string,
    request: { topics: string[]; memberId?: string; clientId?: string; sessionTimeoutMs?: number },
  ): Promise<Membership> {
    return this.transport.request('POST', `/v1/groups/${enc(group)}/members`, { body: request });
  }

  heartbeat(group: string, memberId: string): Promise<Membership> {
    return this.transport.request('POST', `/v1/groups/${enc(group)}/members/${enc(memberId)}/heartbeat`);
  }

  async leaveGroup(group: string, memberId: string): Promise<void> {
    await this.transport.request('DELETE', `/v1/groups/${enc(group)}/members/${enc(memberId)}`);
  }

  /**
   * Where the deployment's push endpoint is (`GET /v1/push`), or undefined when it has
   * none (404 PUSH_NOT_CONFIGURED, or a server from before push: ROUTE_NOT_FOUND).
   */
  async pushDiscovery(): Promise<PushDiscovery | undefined> {
    try {
      return await this.transport.request<PushDiscovery>('GET', '/v1/push');
    } catch (err) {
      if (err instanceof StrataError && (err.code === 'PUSH_NOT_CONFIGURED' || err.code === 'ROUTE_NOT_FOUND')) return undefined;
      throw err;
    }
  }

  /**
   * A signer of the push endpoint's `wss://` URL with this client's credentials;
   * undefined when requests are not signed.
   * @internal
   */
  webSocketPresigner(url: URL): ((url: URL) => Promise<URL>) | undefined {
    return this.transport.webSocketPresigner(url);
  }

  /** A batching, retrying, idempotent producer. Close it to flush. */
  producer(options: ProducerOptions = {}): Producer {
    return new Producer(this, options);
  }

  /** A consumer of a topic: `for await (const record of consumer)`. */
  subscribe(topic: string, options: SubscribeOptions = {}): Consumer {
    return new Consumer(this, topic, options);
  }
}
