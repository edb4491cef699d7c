/**
 * The Strata TypeScript client: `import { Strata } from 'strata'`.
 * See README.md "Client library" for the guarantees and an example.
 */

export { Consumer, type SubscribeOptions } from './consumer.js';
export * from './errors.js';
export { Producer, type ProducerOptions } from './producer.js';
export type { Bytes, ConsumedRecord, ProducerRecord, RecordMetadata } from './records.js';
export {
  type AppendResult,
  type CommittedOffset,
  type GroupDescription,
  type Membership,
  type OffsetCommit,
  type PartitionState,
  type ReadFormat,
  type ReadOptions,
  type ReadResult,
  Strata,
  type StrataOptions,
  type TopicDescription,
  type TopicInfo,
} from './strata.js';
export type { Credentials, FunctionUrls, SigningService, TransportOptions } from './transport.js';
