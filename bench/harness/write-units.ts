/**
 * DynamoDB's write-unit arithmetic, for the writes whose consumed capacity no answer
 * reports: a write whose condition failed and a cancelled transaction throw, and their
 * exceptions carry no ConsumedCapacity, yet DynamoDB bills them. The contention suite
 * counts those from the request's items with DynamoDB's rules:
 *
 * - an item's size is the sum, over its attributes, of the name's UTF-8 bytes plus the
 *   value's: a string its UTF-8 bytes, a binary its bytes, a number 1 byte per two
 *   significant digits plus 1, a boolean or null 1, a list or map 3 plus 1 per element
 *   plus the elements, a set the sum of its elements (AWS docs, "Item sizes and formats");
 * - a write costs 1 write unit per KB (1,024 bytes) of the item, rounded up, at least 1;
 * - inside a TransactWriteItems every action costs twice that (a prepare and a commit);
 * - an UpdateItem is billed on the larger of the item before and after, which the request
 *   does not tell: it is counted from its key and the values it sets, exact for the small
 *   items (a partition's head, a counter) the suite updates.
 *
 * Pure functions over the marshalled request (the low-level AttributeValue shape).
 */

/** A marshalled DynamoDB value, as the low-level client sends it. */
export type AttributeValue = {
  S?: string;
  N?: string;
  B?: Uint8Array;
  BOOL?: boolean;
  NULL?: boolean;
  L?: AttributeValue[];
  M?: Record<string, AttributeValue>;
  SS?: string[];
  NS?: string[];
  BS?: Uint8Array[];
};
export type AttributeMap = Record<string, AttributeValue>;

/** Bytes per write unit. */
export const WRITE_UNIT_BYTES = 1024;
/** A transactional write costs this many times a standard one. */
export const TRANSACTION_FACTOR = 2;
const DOCUMENT_OVERHEAD_BYTES = 3;
const ELEMENT_OVERHEAD_BYTES = 1;

const utf8 = new TextEncoder();

/** DynamoDB's size of a number: 1 byte per two significant digits, plus 1. */
export function numberBytes(text: string): number {
  const digits = text
    .replace(/^[+-]/, '')
    .replace(/[eE].*$/, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  return Math.ceil(digits.length / 2) + 1;
}

export function valueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return utf8.encode(value.S).byteLength;
  if (value.N !== undefined) return numberBytes(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.L !== undefined) return DOCUMENT_OVERHEAD_BYTES + value.L.reduce((n, v) => n + ELEMENT_OVERHEAD_BYTES + valueBytes(v), 0);
  if (value.M !== undefined) {
    return (
      DOCUMENT_OVERHEAD_BYTES +
      Object.entries(value.M).reduce((n, [k, v]) => n + ELEMENT_OVERHEAD_BYTES + utf8.encode(k).byteLength + valueBytes(v), 0)
    );
  }
  if (value.SS !== undefined) return value.SS.reduce((n, s) => n + utf8.encode(s).byteLength, 0);
  if (value.NS !== undefined) return value.NS.reduce((n, s) => n + numberBytes(s), 0);
  if (value.BS !== undefined) return value.BS.reduce((n, b) => n + b.byteLength, 0);
  return 0;
}

/** An item's size: each attribute's name plus its value. */
export function itemBytes(item: AttributeMap): number {
  return Object.entries(item).reduce((n, [name, value]) => n + utf8.encode(name).byteLength + valueBytes(value), 0);
}

/** Write units of one standard write of an item of `bytes`: 1 per KB, rounded up, at least 1. */
export function writeUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / WRITE_UNIT_BYTES));
}

/** One item written by a request: its key (for per-item rates) and what it costs. */
export interface ItemWrite {
  key: string;
  units: number;
}

interface PutShape {
  Item?: AttributeMap;
}
interface KeyedShape {
  Key?: AttributeMap;
  ExpressionAttributeValues?: AttributeMap;
}
interface TransactShape {
  TransactItems?: { Put?: PutShape; Update?: KeyedShape; Delete?: KeyedShape; ConditionCheck?: KeyedShape }[];
}

/**
 * The items a write request touches and the units each costs, from its input
 * (`commandName` as the SDK names it). Reads and unknown commands write nothing.
 *
 * @example
 * itemWrites('TransactWriteItemsCommand', { TransactItems: [{ Update: { Key: head } }, { Put: { Item: tail2k } }] });
 * // [{ key: 'p|HEAD', units: 2 }, { key: 'p|B#…', units: 4 }]
 */
export function itemWrites(commandName: string, input: unknown, keyNames: readonly string[] = DEFAULT_KEY_NAMES): ItemWrite[] {
  const key = (item: AttributeMap | undefined) => keyOf(item ?? {}, keyNames);
  switch (commandName) {
    case 'PutItemCommand': {
      const item = (input as PutShape).Item ?? {};
      return [{ key: key(item), units: writeUnits(itemBytes(item)) }];
    }
    case 'UpdateItemCommand':
    case 'DeleteItemCommand':
      return [{ key: key((input as KeyedShape).Key), units: updateUnits(input as KeyedShape) }];
    case 'TransactWriteItemsCommand':
      return ((input as TransactShape).TransactItems ?? []).flatMap((action) => {
        if (action.Put) return [{ key: key(action.Put.Item), units: TRANSACTION_FACTOR * writeUnits(itemBytes(action.Put.Item ?? {})) }];
        const keyed = action.Update ?? action.Delete;
        if (keyed) return [{ key: key(keyed.Key), units: TRANSACTION_FACTOR * updateUnits(keyed) }];
        return [];
      });
    default:
      return [];
  }
}

/** The table's key attributes (infra/table-definition.ts): `pk` and `sk`. */
export const DEFAULT_KEY_NAMES: readonly string[] = ['pk', 'sk'];

function updateUnits(shape: KeyedShape): number {
  const values = Object.values(shape.ExpressionAttributeValues ?? {}).reduce((n, v) => n + valueBytes(v), 0);
  return writeUnits(itemBytes(shape.Key ?? {}) + values);
}

function keyOf(item: AttributeMap, keyNames: readonly string[]): string {
  return keyNames.map((name) => item[name]?.S ?? item[name]?.N ?? '').join('|');
}

/** Sum of the units a ConsumedCapacity answer reports (one entry or one per table). */
export function reportedUnits(consumed: unknown): number | undefined {
  if (consumed === undefined || consumed === null) return undefined;
  type Capacity = { CapacityUnits?: number; WriteCapacityUnits?: number; ReadCapacityUnits?: number };
  const list = [consumed as Capacity | Capacity[]].flat();
  return list.reduce((n, c) => n + (c.CapacityUnits ?? (c.WriteCapacityUnits ?? 0) + (c.ReadCapacityUnits ?? 0)), 0);
}
