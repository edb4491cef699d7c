/**
 * DynamoDB Local's CPU per call, by the form of a head update: where a write-first append
 * spends the emulator's CPU beside the raw primitive's (the undilated contention suite is
 * CPU-bound from K=4, and DynamoDB Local takes about a third of the machine there). One
 * process, `concurrency` requests in flight on one head item, no latency model. A probe,
 * not a suite: it prints.
 *
 *     npx tsx bench/probes/numbering-cpu.ts [calls per form] [concurrency] [rounds] [form,form,...]
 *
 * Forms (the low-level client for all, so that the writer's SDK work is alike):
 * - `add`: the raw primitive's reservation, `ADD nextOffset :n`, UPDATED_NEW;
 * - `number-if-absent`: the engine's numbering until 2026-12-03 (eight attributes set,
 *   each counter `if_not_exists`, the pending entry, its condition), ALL_NEW;
 * - `number-if-absent-updated-new`: the same, UPDATED_NEW;
 * - `number`: the engine's numbering since (lib/aws/dynamo-partition-store.ts): only what
 *   changes (nextOffset, committedOffset, numbered, tailBytes, lastAppendAt, the entry),
 *   the counters being set once by startNumbering, under the same condition, ALL_NEW;
 * - `number-cond-add`, `number-entry`, `number-set-counter`: parts of it alone (its
 *   condition on an ADD; the entry; the counter by SET on a head with a map);
 * - `put`: a 1 KiB data item under `attribute_not_exists(pk)` (every append makes one).
 * A numbering head starts over every INDEX_EVERY calls (a fresh item), as an index step
 * empties it, so its pending map holds 0 to INDEX_EVERY entries as in the engine.
 */
import { randomBytes } from 'node:crypto';
import { type AttributeValue, type DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { INDEX_EVERY } from '../../lib/sequencing/write-first-sequencer.js';
import { ensureTable, localDynamoClient, startDynamoDbLocal } from '../../local/emulators.js';
import { cpuRounds, medianOf } from '../harness/cpu-rounds.js';
import { ResourceMeter } from '../harness/resources.js';

const calls = Number(process.argv[2] ?? 3000);
const concurrency = Number(process.argv[3] ?? 8);
const rounds = Number(process.argv[4] ?? 3);
/** The forms to run, comma-separated (default: all). */
const only = process.argv[5]?.split(',');
const TABLE = 'numbering-cpu';
const n = (v: number): AttributeValue => ({ N: String(v) });
const s = (v: string): AttributeValue => ({ S: v });

/** One call of a form: call `i`, sent by the form named `form`. */
type Form = (dynamo: DynamoDBClient, i: number, form: string) => Promise<unknown>;

const CONDITION =
  'attribute_not_exists(pending.#t0) AND (attribute_not_exists(committedOffset) OR committedOffset = nextOffset) AND attribute_not_exists(deletedAt) AND (attribute_not_exists(fence) OR fence <= :fence)';

/**
 * Numberings per head of a form: INDEX_EVERY, as an index step empties the map, or more
 * for a `-wide` form (a head whose steps lag, as on saturated cores: 0 to WIDE entries).
 */
const WIDE = 96;
const span = (form: string) => (form.endsWith('-wide') ? WIDE : INDEX_EVERY);
/** The head numbering `i` of a form goes to: a fresh one every span(form) numberings. */
const headKey = (form: string, i: number) => ({ pk: s(`N#${form}#${Math.floor(i / span(form))}`), sk: s('HEAD') });

/** An UpdateItem of the form's head; `#t0`, where the expressions name it, is a fresh token each call. */
function headUpdate(spec: {
  update: string;
  condition?: string;
  values: (i: number) => Record<string, AttributeValue>;
  returnValues: 'ALL_NEW' | 'UPDATED_NEW';
}): Form {
  const named = `${spec.update} ${spec.condition ?? ''}`.includes('#t0');
  return (dynamo, i, form) =>
    dynamo.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: headKey(form, i),
        UpdateExpression: spec.update,
        ...(spec.condition ? { ConditionExpression: spec.condition } : {}),
        ...(named ? { ExpressionAttributeNames: { '#t0': randomBytes(6).toString('base64url') } } : {}),
        ExpressionAttributeValues: spec.values(i),
        ReturnValues: spec.returnValues,
      }),
    );
}

/** A numbering under the engine's condition. */
const numbering = (update: string, returnValues: 'ALL_NEW' | 'UPDATED_NEW', values: Record<string, AttributeValue>): Form =>
  headUpdate({ update, condition: CONDITION, values: () => ({ ...values, ':fence': n(0) }), returnValues });

const FULL =
  'SET nextOffset = if_not_exists(nextOffset, :zero) + :total, committedOffset = if_not_exists(nextOffset, :zero) + :total, ' +
  'numbered = if_not_exists(numbered, :zero) + :one, tailBytes = if_not_exists(tailBytes, :zero) + :bytes, lastAppendAt = :now, ' +
  'logStartOffset = if_not_exists(logStartOffset, :zero), flushedOffset = if_not_exists(flushedOffset, :zero), pending.#t0 = if_not_exists(nextOffset, :zero)';
const FULL_VALUES = { ':total': n(1), ':bytes': n(1270), ':now': n(Date.now()), ':zero': n(0), ':one': n(1) };
const LEAN =
  'SET nextOffset = nextOffset + :total, committedOffset = nextOffset + :total, numbered = numbered + :one, ' +
  'tailBytes = tailBytes + :bytes, lastAppendAt = :now, pending.#t0 = nextOffset';
const LEAN_VALUES = { ':total': n(1), ':bytes': n(1270), ':now': n(Date.now()), ':one': n(1) };
const DATA = randomBytes(1024);

const FORMS: Record<string, Form> = {
  add: (dynamo) =>
    dynamo.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { pk: s('RAW'), sk: s('HEAD') },
        UpdateExpression: 'ADD nextOffset :n',
        ExpressionAttributeValues: { ':n': n(1) },
        ReturnValues: 'UPDATED_NEW',
      }),
    ),
  'number-if-absent': numbering(FULL, 'ALL_NEW', FULL_VALUES),
  'number-if-absent-updated-new': numbering(FULL, 'UPDATED_NEW', FULL_VALUES),
  number: numbering(LEAN, 'ALL_NEW', LEAN_VALUES),
  'number-wide': numbering(LEAN, 'ALL_NEW', LEAN_VALUES),
  'number-updated-new-wide': numbering(LEAN, 'UPDATED_NEW', LEAN_VALUES),
  // Parts of the numbering, to see which costs: its condition on an ADD, the entry alone, the counter by SET.
  'number-cond-add': headUpdate({
    update: 'ADD nextOffset :n',
    condition: CONDITION,
    values: () => ({ ':n': n(1), ':fence': n(0) }),
    returnValues: 'UPDATED_NEW',
  }),
  'number-entry': headUpdate({ update: 'SET pending.#t0 = :n', values: (i) => ({ ':n': n(i) }), returnValues: 'UPDATED_NEW' }),
  'number-set-counter': headUpdate({
    update: 'SET nextOffset = nextOffset + :n',
    values: () => ({ ':n': n(1) }),
    returnValues: 'UPDATED_NEW',
  }),
  put: (dynamo, i) =>
    dynamo.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: {
          pk: s('DATA'),
          sk: s(`D#${i}#${randomBytes(6).toString('base64url')}`),
          data: { B: DATA },
          recordCount: n(1),
          appendedAt: n(Date.now()),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    ),
};

const dynamoLocal = await startDynamoDbLocal();
try {
  const dynamo = localDynamoClient(dynamoLocal.endpoint);
  await ensureTable(dynamo, TABLE);
  const meter = new ResourceMeter();
  /**
   * The heads of a numbering form's calls [offset, offset + total), made before they are
   * measured: the map (startNumbering's), and the counters a lean numbering adds to.
   */
  const seed = async (name: string, total: number, offset: number) => {
    if (!name.startsWith('number')) return;
    for (let i = Math.floor(offset / span(name)) * span(name); i < offset + total; i += span(name)) {
      await dynamo.send(
        new UpdateItemCommand({
          TableName: TABLE,
          Key: headKey(name, i),
          UpdateExpression: 'SET nextOffset = :zero, numbered = :zero, tailBytes = :zero, pending = :empty',
          ExpressionAttributeValues: { ':zero': n(0), ':empty': { M: {} } },
        }),
      );
    }
  };
  const run = async (name: string, total: number, offset: number) => {
    const form = FORMS[name]!;
    let next = offset;
    const end = offset + total;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < end) await form(dynamo, next++, name);
      }),
    );
  };
  const names = only ?? Object.keys(FORMS);
  for (const name of names) {
    await seed(name, 496, 1_000_000);
    await run(name, 496, 1_000_000);
  }
  const samples = await cpuRounds({
    names,
    rounds,
    units: calls,
    meter,
    before: (name, round) => seed(name, calls, round * calls * 10),
    run: (name, round) => run(name, calls, round * calls * 10),
  });
  console.log(`${calls} calls per form and round, ${concurrency} in flight, medians of ${rounds} rounds`);
  console.log('| form | DynamoDB Local CPU ms per call | writer CPU ms per call |');
  console.log('| --- | ---: | ---: |');
  for (const [name, s] of samples) {
    console.log(`| ${name} | ${medianOf(s, 'dynamo').toFixed(3)} | ${medianOf(s, 'writer').toFixed(3)} |`);
  }
} finally {
  await dynamoLocal.stop();
}
