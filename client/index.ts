/**
 * The Strata TypeScript client: `import { Strata } from 'strata'`.
 * See README.md "Client library" for the guarantees and an example.
 */
export { Strata, type StrataOptions, type TopicInfo, type TopicDescription, type PartitionState, type AppendResult, type ReadOptions, type ReadResult, type ReadFormat, type CommittedOffset, type OffsetCommit, type Membership, type GroupDescription } from './strata.js';
export { Producer, type ProducerOptions } from './producer.js';
export { Consumer, type SubscribeOptions } from './consumer.js';
export type { Bytes, ProducerRecord, ConsumedRecord, RecordMetadata } from './records.js';
export type { Credentials, FunctionUrls, SigningService, TransportOptions } from './transport.js';
export * from './errors.js';
