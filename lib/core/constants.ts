/**
 * Limits and defaults of the log engine, in one place. Every number a caller or an
 * operator may ask about lives here, named, with the reason it has its value.
 */

const KiB = 1024;
const MiB = 1024 * KiB;
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Kafka's topic name rule: letters, digits, `.`, `_`, `-`; 1–249 chars; not `.` or `..`. */
export const TOPIC_NAME_PATTERN = /^[a-zA-Z0-9._-]{1,249}$/;
export const MAX_TOPIC_NAME_LENGTH = 249;

export const MIN_PARTITIONS = 1;
export const MAX_PARTITIONS = 1024;

/** Topic config defaults (Kafka's where Kafka has one). */
export const DEFAULT_RETENTION_MS = 7 * DAY;
/** -1 means unlimited, as Kafka's `retention.bytes`. */
export const DEFAULT_RETENTION_BYTES = -1;
export const DEFAULT_MAX_RECORD_BYTES = 1 * MiB;
/** Upper bound for a topic's `maxRecordBytes`: one record must fit in one HTTP request. */
export const MAX_RECORD_BYTES_LIMIT = 5 * MiB;
export const DEFAULT_SEGMENT_BYTES = 8 * MiB;
/** Upper bound for a topic's `segmentBytes`. */
export const MAX_SEGMENT_BYTES = 1024 * MiB;
/**
 * Index entries a segment's manifest item holds at most (32 bytes each: 64 KiB). The
 * footer keeps the full index; a segment with more regions gets a coarse copy in its
 * manifest (coarsenIndex), so the item stays far below DynamoDB's 400 KB whatever the
 * segment's size and index interval, and a page of 10 manifests fits one 1 MB Query
 * page. At the default 64 KiB interval, segments up to 128 MiB keep their full index;
 * a 1 GiB segment's coarse regions are about 512 KiB, what a read may fetch before its
 * offset.
 */
export const MAX_MANIFEST_INDEX_ENTRIES = 2048;
/** Flush the tail to a segment once it holds this many unflushed bytes... */
export const DEFAULT_FLUSH_BYTES = 4 * MiB;
/** ...or once its oldest unflushed batch is this old. */
export const DEFAULT_FLUSH_INTERVAL_MS = 5 * MINUTE;
/**
 * Appends above this size are staged in S3 and committed by pointer. In a tail item a
 * batch costs about a write unit per KB ($0.66 per GiB, and the same again in storage
 * for the TTL day), staged in S3 Standard a PUT and a GET ($5.40 per million batches,
 * whatever their size): staging is the cheaper from about 9 KiB, and at 64 KiB a GiB
 * costs about a fifth (docs/cost.md). Below 64 KiB, appends keep DynamoDB's few ms of
 * latency; above it they pay an S3 PUT's tens of ms, which a batch that large has
 * usually waited for already (the producer's latency budget). 350 KiB until issue 15.
 */
export const DEFAULT_STAGE_BYTES = 64 * KiB;
/**
 * New topics' stageBytes in a deployment with the S3 Express One Zone staging tier
 * (lib/staging/tier.ts; the construct's stagingAvailabilityZoneId, the local stack's staging
 * option), unless its topicDefaults say otherwise. An inline batch costs a write unit
 * per KB ($0.625 per million; two inside a transaction: the optimistic commit, a fill
 * with producer state); a staged one an Express PUT ($1.13 per million, and $0.0032 per
 * GB uploaded: nothing at these sizes) plus a pointer item of one or two units: even at
 * about 2 to 3 KiB. At 4 KiB staging saves 30 to 50% of the write bill, at 16 KiB 80%;
 * smaller batches would pay the PUT's few milliseconds for little (docs/design.md, "The
 * staging tier").
 */
export const EXPRESS_STAGE_BYTES = 4 * KiB;
/**
 * Staged objects in the S3 Express staging bucket expire by a lifecycle rule this long
 * after their PUT: a backstop for objects whose flush-time delete and GC's orphan scan
 * both missed them. It must be far longer than a tail item can stay unflushed, or an
 * object would expire under its item and acknowledged records would be lost. Tail items
 * expire through DynamoDB TTL a day after their append (DEFAULT_TAIL_TTL_MS) once
 * flushed; an unflushed one is kept alive by the flusher (its TTL extended) for as long
 * as flushes fail, but its staged object is not: so this bounds how long flushes may
 * fail before records staged in the tier are lost. Two weeks: fourteen times the TTL,
 * and 13 days after the flush-lag alarm (FLUSH_LAG_ALARM_MS, an hour) has fired. What
 * it costs is only leaked objects' storage ($0.11 per GB-month), which GC deletes first
 * anyway. test/infra checks it stays at least three times the TTL.
 */
export const STAGED_OBJECT_EXPIRY_DAYS = 14;
export const DEFAULT_MIN_COMPACTION_LAG_MS = 0;
export const DEFAULT_DELETE_RETENTION_MS = 1 * DAY;

/**
 * DynamoDB's item limit is 400 KB; a tail item holds at most this many bytes of encoded
 * batches, leaving room for its other attributes.
 */
export const MAX_TAIL_ITEM_BYTES = 350 * KiB;
/** TransactWriteItems takes at most 100 actions and 4 MB; stay below both. */
export const MAX_TRANSACTION_ITEMS = 100;
export const MAX_TRANSACTION_BYTES = 3_800 * KiB;

/** Lambda's synchronous payload limit; API Gateway passes at most this much. */
export const MAX_REQUEST_BODY_BYTES = 6 * MiB;
/**
 * Largest response body a read sends: Lambda's 6 MB response limit, less room for the
 * status and headers around the body. A read whose records would not fit stops early and
 * says where to continue (`nextOffset`): 5 MiB of values as base64 is about 7 MB.
 */
export const MAX_RESPONSE_BODY_BYTES = 6 * MiB - 16 * KiB;
export const MAX_RECORDS_PER_APPEND = 10_000;
export const MAX_HEADERS_PER_RECORD = 64;
export const MAX_HEADER_KEY_BYTES = 256;

/** Read request bounds. */
export const DEFAULT_READ_MAX_RECORDS = 500;
export const MAX_READ_MAX_RECORDS = 10_000;
export const DEFAULT_READ_MAX_BYTES = 1 * MiB;
export const MAX_READ_MAX_BYTES = 5 * MiB;
/**
 * Bounds of a read answered through the read function's streamed URL (endpoints
 * function-urls or both): a streamed answer may be 200 MB, not the 6 MB of a buffered
 * invocation. The answer is still built in memory (a 1 GB function holds 64 MiB twice
 * over), and the records bound lets 64 MiB of small records through.
 */
export const MAX_STREAMED_READ_MAX_BYTES = 64 * MiB;
export const MAX_STREAMED_READ_MAX_RECORDS = 1_000_000;
export const MAX_WAIT_MS = 20 * SECOND;
/** Long-poll head re-reads start at the first value and back off to the second. */
export const LONG_POLL_MIN_INTERVAL_MS = 25;
export const LONG_POLL_MAX_INTERVAL_MS = 500;

/** How long a process trusts its cached copy of a topic's metadata. */
export const TOPIC_CACHE_TTL_MS = 1 * SECOND;
/**
 * How long after it was read an append may still start on a cached copy of a topic's
 * metadata, re-reading the topic while it commits and answering only once the re-read
 * confirms the topic (lib/topics/topic-service.ts, forAppend). A Lambda environment that
 * appends less than once a TOPIC_CACHE_TTL_MS would otherwise read the topic before each
 * append: a round trip in series with the commit's. Far below the garbage collector's
 * grace for deleted topics (DEFAULT_OBJECT_GRACE_MS), so a commit into a topic deleted
 * meanwhile lands before that topic's items are cleaned up, and is cleaned with them.
 */
export const TOPIC_STALE_APPEND_MS = 1 * MINUTE;
/**
 * How old a cached copy of a topic's metadata an append uses without reading the topic at
 * all, where the commit itself refuses a deleted topic: a topic's delete marks its
 * partitions' heads (`deletedAt`) before it removes the topic, and the optimistic commit
 * and the write-first numbering are conditioned on the head carrying no such mark (the
 * reserving sequencer's fill is not, so it keeps TOPIC_CACHE_TTL_MS). Config changes made
 * elsewhere reach such appends within this time; a delete reaches them at once. Past it
 * and up to TOPIC_STALE_APPEND_MS the topic is re-read beside the commit, as before.
 */
export const TOPIC_APPEND_REFRESH_MS = 30 * SECOND;

/** Default time an append keeps retrying conflicts and throttles before answering 503. */
export const DEFAULT_APPEND_DEADLINE_MS = 10 * SECOND;
/**
 * Longest append deadline allowed. Every re-send of a commit in doubt happens before the
 * deadline, and must fall inside DynamoDB's 10-minute ClientRequestToken window, which is
 * what answers the re-send of an applied commit with success; the second guard (the
 * commitId of the commit's first tail item) stops working once a flush has moved that
 * item to S3, which can happen a second after the commit (the least flushIntervalMs).
 * A minute keeps the re-sends far inside the window, and past any request a client waits on.
 */
export const MAX_APPEND_DEADLINE_MS = 60 * SECOND;
/**
 * Reserved offsets that no writer filled for this long are sealed with voids by whoever
 * meets them (docs/design.md, "reserve, fill, seal"). Far above a fill's latency (ms),
 * well inside the append deadline, so writers waiting behind a dead one still answer.
 */
export const SEAL_AFTER_MS = 2 * SECOND;
/**
 * How long a void outlives the flush that moved its offsets to a segment (ms). A void is
 * what makes a late fill of its key fail; a flush that deleted it would let that fill
 * land below flushedOffset, where no read looks, and its writer acknowledge records no
 * one can read (found by the reserve model, test/lib/sequencing/reserve-model.test.ts).
 * Every fill is sent inside its append's deadline (at most MAX_APPEND_DEADLINE_MS); ten
 * times that covers a request the SDK is still retrying. GC deletes the void afterwards.
 */
export const VOID_KEEP_MS = 10 * MAX_APPEND_DEADLINE_MS;
/**
 * Tail items expire through DynamoDB TTL this long after their append (ms), when the
 * store is built with a TTL (the deployed functions and the local stack): a flush then
 * leaves the items it moved to S3 in place, and DynamoDB removes them for free instead
 * of billing a delete as large as the write. Readers never look below flushedOffset, so
 * a flushed item present or gone reads the same. An item not flushed yet must never
 * expire: the flusher extends the TTL of unflushed items past half of it
 * (TAIL_TTL_REFRESH_SHARE), and the flush-lag alarm (FLUSH_LAG_ALARM_MS) fires long
 * before. Far above VOID_KEEP_MS, so a void also outlives any late fill of its key.
 */
export const DEFAULT_TAIL_TTL_MS = 1 * DAY;
/** The shortest tail TTL a store accepts: an hour, far above the flush lag the alarm allows and VOID_KEEP_MS. */
export const MIN_TAIL_TTL_MS = 1 * HOUR;
/** The flusher keeps unflushed items alive once the oldest has less than this share of the TTL left. */
export const TAIL_TTL_REFRESH_SHARE = 0.5;
/**
 * It then extends every unflushed item with less than this share left. Above
 * TAIL_TTL_REFRESH_SHARE: the next keep-alive comes only once the oldest item, just
 * extended to a whole TTL, is due again, half a TTL later, by when every item left
 * alone (more than this share left) still has a quarter of the TTL. At the same share,
 * an item just above it would reach its TTL about when that next keep-alive comes
 * (found by review, 2026-12-03).
 */
export const TAIL_TTL_EXTEND_SHARE = 0.75;
/** Offsets per Query window when the flusher looks for unflushed items to keep alive. */
export const TAIL_TTL_REFRESH_WINDOW = 10_000;
/**
 * The flush-lag alarm's default threshold: the oldest unflushed tail item is this old
 * (ms). A healthy tail is flushed within flushIntervalMs (5 min) plus a schedule period;
 * an hour means flushes have failed for a long while, and is far below the tail TTL.
 */
export const FLUSH_LAG_ALARM_MS = 1 * HOUR;
/**
 * Each writer moves the head's committedOffset up once every this many of its appends:
 * one head write per that many appends, and a prefix scan of about that many items.
 */
export const COMMIT_ADVANCE_EVERY = 16;
/** Seconds a client is told to wait (Retry-After) after a 503 RETRY. */
export const RETRY_AFTER_SECONDS = 1;

/** Idempotent producers: batches remembered per (producer, partition) for dedup, as Kafka. */
export const PRODUCER_DEDUP_WINDOW = 5;
export const MAX_PRODUCER_ID_LENGTH = 128;
/** Producer state expires this long after its last write (Kafka: 7 days). */
export const PRODUCER_STATE_TTL_MS = 7 * DAY;
/**
 * Write first, number after: index items live at least this long, whatever the tail TTL.
 * A producer state names its newest batch by the token of a claim whose numbering an
 * index item holds once it leaves the head, for as long as the state lives (a
 * PRODUCER_STATE_TTL_MS from its last write); the producer's next batch, or a retry, looks
 * it up there. Found by review (2026-12-03): at the tail TTL (a day by default), a
 * producer back after a longer pause on a busy partition waited for a predecessor it
 * could not find, until every deadline (503s), and a retry of its last batch wrote it twice.
 */
export const INDEX_MIN_TTL_MS = PRODUCER_STATE_TTL_MS + 1 * DAY;
/**
 * How long a process uses a producer state it remembers before reading it again. Far
 * below PRODUCER_STATE_TTL_MS: a state that expired and was created again starts at
 * version 1 again, and a copy of the old one at that version would pass a write's condition.
 */
export const PRODUCER_CACHE_MAX_AGE_MS = 1 * HOUR;

export const MAX_GROUP_NAME_LENGTH = 255;
export const MAX_GROUP_METADATA_BYTES = 4 * KiB;
/** TransactWriteItems' limit, so a commit of group offsets is atomic. */
export const MAX_GROUP_OFFSETS_PER_COMMIT = MAX_TRANSACTION_ITEMS;
/** Consumer group leases: a member that does not heartbeat within its session timeout is removed. */
export const DEFAULT_SESSION_TIMEOUT_MS = 10 * SECOND;
export const MIN_SESSION_TIMEOUT_MS = 1 * SECOND;
export const MAX_SESSION_TIMEOUT_MS = 5 * MINUTE;
/** Members heartbeat this many times per session timeout (Kafka's advice: 3). */
export const HEARTBEATS_PER_SESSION = 3;
/** Members one group holds (Kafka's group.max.size is unlimited by default; one item bounds ours). */
export const MAX_GROUP_MEMBERS = 500;
/**
 * One group's state (members, their topics, and the owner of every subscribed partition)
 * is one DynamoDB item, at most 400 KB. A membership change whose state would be larger
 * than this, serialized as JSON (never smaller than DynamoDB's size of the item), is
 * refused with GROUP_TOO_LARGE; the rest of the 400 KB is room for the item's keys and
 * TTL. About 1,280 subscribed partitions of topics with 249-character names fit, or
 * 9,900 of 6-character names, less what the members' own entries take.
 */
export const MAX_GROUP_STATE_BYTES = 350 * KiB;
export const MAX_MEMBER_ID_LENGTH = 128;
/** A group nobody joined for this long loses its membership item (DynamoDB TTL); offsets stay. */
export const GROUP_STATE_TTL_MS = 7 * DAY;

/** Offsets are padded to this many digits in sort keys so string order is numeric order. */
export const OFFSET_DIGITS = 20;

/**
 * Maintenance (functions/compact). Objects that leave the log (retention, compaction)
 * and orphans (crashed flushes, compactions, staged appends) are deleted only after this
 * grace period: a reader mid-read finishes, and an upload is never mistaken for an orphan
 * before its commit (appends give up after seconds, flushes after one Lambda timeout).
 */
export const DEFAULT_OBJECT_GRACE_MS = 20 * MINUTE;
/**
 * Longest time from the start of an upload (a staged batch, a segment a flush or a
 * compaction writes) to the last send of the commit that names the object. Appends end
 * by their deadline (at most MAX_APPEND_DEADLINE_MS); a flush or a compaction whose
 * commit would go out later deletes its object and gives up, so garbage collection may
 * take an object nothing names for an orphan once ORPHAN_MIN_AGE_MS have passed.
 */
export const UPLOAD_COMMIT_WINDOW_MS = 2 * MINUTE;
/**
 * How old an object that no item names must be before garbage collection deletes it as
 * an orphan, whatever the grace period: UPLOAD_COMMIT_WINDOW_MS, and minutes more for a
 * commit in flight and the clocks of two hosts. With a grace period shorter than an
 * upload's window, GC deleted objects whose commit was yet to land (the commit then
 * named an object that was gone: acknowledged records neither readable nor flushable).
 */
export const ORPHAN_MIN_AGE_MS = 5 * MINUTE;
/**
 * The longest recovery window (point-in-time recovery's period): DynamoDB keeps at most
 * 35 days. Objects that leave the log are kept the window plus DEFAULT_OBJECT_GRACE_MS
 * (objectGraceMs in lib/maintenance/maintenance.ts), so a table restored to any point of it finds
 * every object it references (docs/operations.md, "Restore").
 */
export const MAX_RECOVERY_WINDOW_MS = 35 * DAY;
/** The construct's default recovery window: a day of point-in-time recovery, and a day more of replaced objects. */
export const DEFAULT_RECOVERY_WINDOW_MS = 1 * DAY;
/**
 * Keys one garbage item names at most. An object key is at most about 350 bytes (a
 * 249-character topic name, the topic id, the partition, a UUID), so an item stays under
 * 300 KB, inside DynamoDB's 400 KB.
 */
export const MAX_GARBAGE_KEYS_PER_ITEM = 800;
/**
 * Staged objects one flushed segment takes at most: the flush commit puts their garbage
 * items (a few, of MAX_GARBAGE_KEYS_PER_ITEM keys) in its transaction, which stays far
 * inside 100 actions and 4 MB. At the default stageBytes (64 KiB) an 8 MiB segment holds
 * about 128; with the staging tier's 4 KiB, 2,048.
 */
export const MAX_STAGED_PER_SEGMENT = 4 * MAX_GARBAGE_KEYS_PER_ITEM;
/** Segments one retention transaction drops (one head update + a garbage item + these ≤ 100 actions). */
export const MAX_RETENTION_SEGMENTS_PER_COMMIT = 90;
/** Segments one compaction swap replaces (each a conditional delete in one transaction). */
export const MAX_COMPACTION_GROUP_SEGMENTS = 50;
/** Bytes of segments one compaction pass reads, so one invocation stays inside a Lambda timeout. */
export const MAX_COMPACTION_PASS_BYTES = 256 * MiB;
/**
 * Asynchronous compact invocations the scheduled run sends at once (lib/maintenance/maintenance.ts
 * runAll). An Invoke with InvocationType Event takes 10 to 30 ms; one at a time, a run
 * dispatched about 50 partitions a second and passed its timeout somewhere past 10,000.
 * 32 in flight send about 1,600 a second at 20 ms, far under Lambda's Invoke request
 * quota (ten times the account's concurrency, per second).
 */
export const DEFAULT_DISPATCH_CONCURRENCY = 32;
/**
 * Partitions one scheduled run dispatches at most before handing the rest to the next
 * run of the pass (its cursor; the compact function invokes itself with it): a bound on
 * the burst of compact invocations one run starts, whatever the deadline allows.
 */
export const MAX_DISPATCHES_PER_RUN = 10_000;
/**
 * How long one scheduled run looks at partitions before handing the rest on: far inside
 * the compact function's timeout (5 minutes by default), so a run never times out and a
 * retry never starts the pass again from its first topic.
 */
export const FANOUT_RUN_BUDGET_MS = 1 * MINUTE;
/** Topics whose heads and stats the scheduled run reads at once (two BatchGetItems per 100 partitions each). */
export const FANOUT_TOPICS_READ_AT_ONCE = 8;
/** A scheduled run also stops this long before its invocation's timeout, whatever FANOUT_RUN_BUDGET_MS says. */
export const FANOUT_TIMEOUT_RESERVE_MS = 30 * SECOND;
/** Runs one scheduled pass chains at most (one run, then this many invoked with a cursor); a pass longer than that waits for the next schedule. */
export const MAX_FANOUT_CHAIN = 100;
/** How often the schedule visits a partition with nothing due, to look for orphans. */
export const ORPHAN_SCAN_INTERVAL_MS = 1 * HOUR;
/** Objects and items one garbage collection pass deletes per partition (more waits for the next pass). */
export const MAX_GC_DELETES_PER_PASS = 1000;

/**
 * Push (lib/push/fanout.ts): after a notification of a partition, none other for this
 * long. A hot partition then costs each connection at most 1000/PUSH_QUIET_MS messages
 * a second ($1 per million on API Gateway), and a consumer that read after a
 * notification reads once more after it (the `quietMs` of the message).
 */
export const DEFAULT_PUSH_QUIET_MS = 50;
/**
 * A pushed consumer pings this often: it keeps the connection open (API Gateway closes
 * one idle for 10 minutes) and its answer carries the watermarks, the fallback for a
 * lost notification. About 21,900 pings a month: $0.05 of messages and invocations.
 */
export const PUSH_PING_INTERVAL_MS = 2 * MINUTE;
/**
 * A pushed consumer reads once more this long after its subscription is confirmed: an
 * append already in flight when the subscription was written may have looked for
 * subscribers before it (lib/push/fanout.ts) and committed after the consumer's read.
 */
export const PUSH_SUBSCRIBE_SETTLE_MS = 1000;
/**
 * An append waits at most this long for its push announcement (normally a write and a
 * POST: tens of ms on AWS) before it answers: a slow or failing DynamoDB or API Gateway
 * must not hold appends. What is left may be lost (a Lambda freezes once it answered),
 * which costs subscribers latency, never a record.
 */
export const PUSH_ANNOUNCE_BUDGET_MS = 250;
/** API Gateway closes a WebSocket connection after 2 hours; the client reconnects. */
export const PUSH_MAX_CONNECTION_MS = 2 * HOUR;
/** Subscription items outlive their connection's longest life, then DynamoDB TTL removes them. */
export const PUSH_SUBSCRIPTION_TTL_MS = PUSH_MAX_CONNECTION_MS + 10 * MINUTE;
/**
 * Appends up to this many bytes of records ride in their notification (the `frame` of a
 * `moved` message), so a caught-up consumer skips the read: API Gateway bills a message
 * per 32 KB, and 16 KiB stays inside one with base64 and the frame's header.
 */
export const PUSH_INLINE_MAX_BYTES = 16 * KiB;
/** Partitions one connection may subscribe to (its connection item lists them). */
export const MAX_PUSH_SUBSCRIPTIONS = 4096;
