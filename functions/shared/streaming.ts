/**
 * The read function behind a function URL with InvokeMode RESPONSE_STREAM: the Node.js
 * runtime's `awslambda.streamifyResponse` calls the handler with a writable stream,
 * which the answer is written to (status and headers as the stream's prelude, then the
 * body's bytes: no base64, no invoke envelope, no 6 MB cap). The same function may also
 * sit behind API Gateway (endpoints 'both'), which invokes it with the buffered Invoke
 * API: the runtime still hands it a stream and Lambda buffers what is written, so for a
 * request that did not come through a function URL the proxy result is written as the
 * JSON API Gateway expects.
 *
 *   function URL ──InvokeWithResponseStream──▶ prelude {statusCode, headers} · body bytes
 *   API Gateway  ──Invoke (buffered)─────────▶ {"statusCode":…,"headers":…,"body":…} (≤ 6 MB)
 *
 * The whole answer is still built in memory first (the engine returns it whole): what
 * streaming lifts is the 6 MB response cap (200 MB streamed) and the wait for the last
 * byte of the invoke payload, not the memory.
 */
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { HttpHandler } from './dispatch.js';
import { type HttpResponse, rawBody } from './http.js';

/** What the runtime's `HttpResponseStream.from` takes: the answer's status and headers. */
export type StreamPrelude = {
  statusCode: number;
  headers: Record<string, string>;
  cookies?: string[];
};

/** The `awslambda` global of the Lambda Node.js runtime (no package, no types). */
export interface LambdaStreamingRuntime {
  streamifyResponse<H extends StreamingHandler>(handler: H): H;
  HttpResponseStream: { from(stream: Writable, prelude: StreamPrelude): Writable };
}

export type StreamingHandler = (event: APIGatewayProxyEventV2, responseStream: Writable, context?: Context) => Promise<void>;

/** The runtime's `awslambda` global, or undefined outside Lambda (tests, the local server). */
export function lambdaStreamingRuntime(): LambdaStreamingRuntime | undefined {
  // Powertools defines an `awslambda` global of its own (its invocation store) outside
  // Lambda too: only the runtime's has streamifyResponse.
  const runtime = (globalThis as unknown as { awslambda?: Partial<LambdaStreamingRuntime> }).awslambda;
  return typeof runtime?.streamifyResponse === 'function' ? (runtime as LambdaStreamingRuntime) : undefined;
}

/** True for a request that came through a Lambda function URL (`{id}.lambda-url.{region}.on.aws`). */
export function viaFunctionUrl(event: APIGatewayProxyEventV2): boolean {
  return event.requestContext?.domainName?.includes('.lambda-url.') ?? false;
}

/**
 * A streaming entry point for an HTTP handler (made on first use, as the buffered
 * entry points make theirs). Wrapped by `awslambda.streamifyResponse` when the runtime
 * has it; elsewhere returned as is, for tests.
 */
export function streamingEntry(handler: () => HttpHandler, runtime = lambdaStreamingRuntime()): StreamingHandler {
  const entry: StreamingHandler = async (event, responseStream, context) => {
    const response = await handler()(event, context);
    await writeResponse(event, response, responseStream, runtime);
  };
  return runtime ? runtime.streamifyResponse(entry) : entry;
}

/** Writes one answer to the response stream: see the module comment for the two shapes. */
export async function writeResponse(
  event: APIGatewayProxyEventV2,
  response: HttpResponse,
  responseStream: Writable,
  runtime: LambdaStreamingRuntime | undefined,
): Promise<void> {
  if (!viaFunctionUrl(event) || !runtime) {
    await pipeline(Readable.from([JSON.stringify(response)]), responseStream);
    return;
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers ?? {})) headers[name] = String(value);
  const prelude: StreamPrelude = { statusCode: response.statusCode, headers, ...(response.cookies ? { cookies: response.cookies } : {}) };
  const body = rawBody(response) ?? Buffer.from(response.body ?? '', response.isBase64Encoded ? 'base64' : 'utf8');
  await pipeline(Readable.from(body.length > 0 ? [body] : []), runtime.HttpResponseStream.from(responseStream, prelude));
}
