/**
 * X-Ray tracing (Powertools Tracer) and the Lambda context in every log line.
 *
 * One tracer per process: it reads its service name from POWERTOOLS_SERVICE_NAME, which
 * the construct sets per function. It turns itself off outside Lambda (no
 * AWS_EXECUTION_ENV: the local stack, the tests, `npm run compact`), where every call
 * below is a no-op and no X-Ray daemon is needed; POWERTOOLS_TRACE_ENABLED=false turns it
 * off in Lambda too.
 *
 *   Lambda (active tracing) ── facade segment
 *     └─ ## append                      ← invocation(): ColdStart, Service, route, topic
 *          ├─ DynamoDB TransactWriteItems   ← traced() clients
 *          └─ S3 PutObject
 *
 * HTTP requests are not captured separately (captureHTTPsRequests false): the only
 * outbound calls are the AWS SDK's, which traced() records with their service and operation.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { Context } from 'aws-lambda';

export const tracer = new Tracer({ captureHTTPsRequests: false });

/** An AWS SDK v3 client whose calls become X-Ray subsegments (the client itself when tracing is off). */
export function traced<T>(client: T): T {
  return tracer.captureAWSv3Client(client);
}

/**
 * Runs one invocation: the Lambda context (request id, cold start, function name and
 * version) on every log line of `logger` from here on, and, when tracing is on, a
 * subsegment `## {name}` annotated with ColdStart and Service, holding the error if
 * `run` throws. Without a context (the local stack calls handlers directly) it only runs.
 */
export async function invocation<R>(logger: Logger, context: Context | undefined, name: string, run: () => Promise<R>): Promise<R> {
  if (context) logger.addContext(context);
  if (!tracer.isTracingEnabled()) return run();
  const parent = tracer.getSegment();
  const segment = parent?.addNewSubsegment(`## ${name}`);
  if (segment) tracer.setSegment(segment);
  tracer.annotateColdStart();
  tracer.addServiceNameAnnotation();
  try {
    return await run();
  } catch (err) {
    tracer.addErrorAsMetadata(err as Error);
    throw err;
  } finally {
    if (parent && segment) {
      segment.close();
      tracer.setSegment(parent);
    }
  }
}

/** Annotates the current invocation's trace (searchable in X-Ray: `annotation.topic = "orders"`). */
export function annotate(key: string, value: string | number): void {
  if (tracer.isTracingEnabled()) tracer.putAnnotation(key, value);
}
