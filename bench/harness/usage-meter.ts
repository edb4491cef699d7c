/**
 * Counts what the engine's AWS SDK clients actually asked of DynamoDB and S3, as AWS
 * bills it: an SDK middleware on each client, around the real calls (nothing is mocked).
 *
 * - DynamoDB: every data-plane call is sent with `ReturnConsumedCapacity: TOTAL` (added
 *   here if the caller did not ask), and the capacity units DynamoDB reports are summed
 *   as read or write request units by operation. DynamoDB Local reports them as DynamoDB
 *   does (a 3 KB put is 3 WRU, a transactional write twice the units).
 * - S3: requests by billing class (PUT/COPY/POST/LIST, GET, DELETE) and bytes up and down.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';

/** DynamoDB operations that can report consumed capacity, and which units they consume. */
export const DYNAMODB_OPERATIONS: Record<string, 'read' | 'write'> = {
  GetItemCommand: 'read',
  BatchGetItemCommand: 'read',
  QueryCommand: 'read',
  ScanCommand: 'read',
  TransactGetItemsCommand: 'read',
  PutItemCommand: 'write',
  UpdateItemCommand: 'write',
  DeleteItemCommand: 'write',
  BatchWriteItemCommand: 'write',
  TransactWriteItemsCommand: 'write',
};

/** S3's request price classes. */
const S3_CLASSES: Record<string, 'put' | 'get' | 'delete'> = {
  PutObjectCommand: 'put',
  CopyObjectCommand: 'put',
  ListObjectsV2Command: 'put',
  CreateMultipartUploadCommand: 'put',
  UploadPartCommand: 'put',
  CompleteMultipartUploadCommand: 'put',
  GetObjectCommand: 'get',
  HeadObjectCommand: 'get',
  DeleteObjectsCommand: 'delete',
  DeleteObjectCommand: 'delete',
};

export interface S3Usage {
  calls: Record<string, number>;
  put: number;
  get: number;
  delete: number;
  bytesUp: number;
  bytesDown: number;
}

export interface Usage {
  dynamo: { calls: Record<string, number>; readUnits: number; writeUnits: number };
  /** The S3 Standard bucket (segments; staged batches without the staging tier). */
  s3: S3Usage;
  /** The staging tier's directory bucket (S3 Express One Zone), priced by its own list. */
  s3express: S3Usage;
}

function emptyS3(): S3Usage {
  return { calls: {}, put: 0, get: 0, delete: 0, bytesUp: 0, bytesDown: 0 };
}

export function emptyUsage(): Usage {
  return { dynamo: { calls: {}, readUnits: 0, writeUnits: 0 }, s3: emptyS3(), s3express: emptyS3() };
}

function diffS3(a: S3Usage, b: S3Usage): S3Usage {
  return {
    calls: diffCalls(a.calls, b.calls),
    put: a.put - b.put,
    get: a.get - b.get,
    delete: a.delete - b.delete,
    bytesUp: a.bytesUp - b.bytesUp,
    bytesDown: a.bytesDown - b.bytesDown,
  };
}

function diffCalls(x: Record<string, number>, y: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(x)
      .map(([k, v]) => [k, v - (y[k] ?? 0)])
      .filter(([, v]) => (v as number) !== 0),
  );
}

/** a − b, field by field: the usage of one phase of a workload. */
export function diffUsage(a: Usage, b: Usage): Usage {
  return {
    dynamo: {
      calls: diffCalls(a.dynamo.calls, b.dynamo.calls),
      readUnits: a.dynamo.readUnits - b.dynamo.readUnits,
      writeUnits: a.dynamo.writeUnits - b.dynamo.writeUnits,
    },
    s3: diffS3(a.s3, b.s3),
    s3express: diffS3(a.s3express, b.s3express),
  };
}

type Capacity = { CapacityUnits?: number; ReadCapacityUnits?: number; WriteCapacityUnits?: number };

export class UsageMeter {
  private usage = emptyUsage();

  /** A copy of the totals so far. */
  snapshot(): Usage {
    return structuredClone(this.usage);
  }

  /** Installs the counters on the clients (the local stack's `instrumentClients` hook). */
  install(clients: { dynamo?: DynamoDBClient; s3?: S3Client; stagingS3?: S3Client }): void {
    if (clients.dynamo) this.installDynamo(clients.dynamo);
    if (clients.s3) this.installS3(clients.s3, () => this.usage.s3);
    if (clients.stagingS3) this.installS3(clients.stagingS3, () => this.usage.s3express);
  }

  private installDynamo(client: DynamoDBClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const kind = DYNAMODB_OPERATIONS[context.commandName ?? ''];
        const input = args.input as { ReturnConsumedCapacity?: string };
        if (kind && input.ReturnConsumedCapacity === undefined) input.ReturnConsumedCapacity = 'TOTAL';
        const result = await next(args);
        const name = context.commandName ?? 'unknown';
        this.usage.dynamo.calls[name] = (this.usage.dynamo.calls[name] ?? 0) + 1;
        const consumed = (result.output as { ConsumedCapacity?: Capacity | Capacity[] }).ConsumedCapacity;
        const units = [consumed ?? []]
          .flat()
          .reduce((n, c) => n + (c.CapacityUnits ?? (c.ReadCapacityUnits ?? 0) + (c.WriteCapacityUnits ?? 0)), 0);
        if (kind === 'read') this.usage.dynamo.readUnits += units;
        else if (kind === 'write') this.usage.dynamo.writeUnits += units;
        return result;
      },
      { step: 'initialize', name: 'strataUsageMeter', override: true },
    );
  }

  private installS3(client: S3Client, usage: () => S3Usage): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const name = context.commandName ?? 'unknown';
        const input = args.input as { Body?: unknown };
        const result = await next(args);
        const s3 = usage();
        s3.calls[name] = (s3.calls[name] ?? 0) + 1;
        const cls = S3_CLASSES[name];
        if (cls) s3[cls] += 1;
        if (input.Body instanceof Uint8Array) s3.bytesUp += input.Body.byteLength;
        const length = (result.output as { ContentLength?: number }).ContentLength;
        if (name === 'GetObjectCommand' && typeof length === 'number') s3.bytesDown += length;
        return result;
      },
      { step: 'initialize', name: 'strataUsageMeter', override: true },
    );
  }
}
