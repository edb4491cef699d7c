/**
 * The HTTP edge shared by the handlers: parsing API Gateway v2 events and answering
 * with JSON. `errorResponse` is the one place where any thrown value becomes the API's
 * error body; only a value that is not a StrataError (a bug) becomes a 500.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { MAX_REQUEST_BODY_BYTES } from '../../lib/core/constants.js';
import { answered, InternalError, InvalidJsonError, PayloadTooLargeError, RetryableError, StrataError } from '../../lib/core/errors.js';

export type HttpResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number; body: string };

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

/** Where a binary answer keeps its bytes for a server that sends them as they are. */
const RAW_BODY = Symbol('raw body');

/**
 * A binary answer. Lambda carries it base64-encoded (`isBase64Encoded`) and API Gateway
 * sends the bytes; `body` is that base64 text, made when first read (the Lambda runtime
 * reads it when it serialises the answer). The local server sends the bytes themselves
 * ({@link rawBody}) without the base64 round trip, as it sends a JSON body without the
 * invoke envelope around it; a response-streaming function URL would do the same.
 * Errors stay JSON (`errorResponse`), whatever the request accepted.
 */
export function binary(statusCode: number, contentType: string, body: Uint8Array, headers: Record<string, string> = {}): HttpResponse {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let encoded: string | undefined;
  const response = { statusCode, headers: { 'content-type': contentType, ...headers }, isBase64Encoded: true } as unknown as HttpResponse;
  Object.defineProperty(response, 'body', { enumerable: true, get: () => (encoded ??= bytes.toString('base64')) });
  Object.defineProperty(response, RAW_BODY, { value: bytes });
  return response;
}

/** The bytes of a binary answer, or undefined for any other answer. */
export function rawBody(response: HttpResponse): Buffer | undefined {
  return (response as HttpResponse & { [RAW_BODY]?: Buffer })[RAW_BODY];
}

/**
 * True when the request's Accept header asks for `mediaType` at least as much as for
 * JSON: it must name the type itself (a wildcard never picks a non-JSON answer, so
 * `curl` and browsers get JSON) with q > 0, and JSON (`application/json`,
 * `application/*` or the any-type wildcard) must not have a higher q.
 */
export function prefers(event: APIGatewayProxyEventV2, mediaType: string): boolean {
  const accept = event.headers?.accept ?? event.headers?.Accept;
  if (!accept) return false;
  let wanted = 0;
  let json = 0;
  for (const part of accept.split(',')) {
    const [range = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!Number.isFinite(q)) continue;
    if (range === mediaType) wanted = Math.max(wanted, q);
    else if (range === 'application/json' || range === 'application/*' || range === '*/*') json = Math.max(json, q);
  }
  return wanted > 0 && wanted >= json;
}

/** A path parameter of the matched route (API Gateway has already decoded it). */
export function pathParam(event: APIGatewayProxyEventV2, name: string): string {
  return event.pathParameters?.[name] ?? '';
}

/** The body of a request as JSON; 413 over the Lambda payload limit, 400 if not JSON. */
export function jsonBody(event: APIGatewayProxyEventV2): unknown {
  const raw = event.body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_REQUEST_BODY_BYTES) {
    throw new PayloadTooLargeError(`the request body is ${bytes} bytes; the limit is ${MAX_REQUEST_BODY_BYTES} (6 MB)`);
  }
  if (text.trim() === '') throw new InvalidJsonError('the request has no body; send a JSON object');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidJsonError(`the request body is not valid JSON (${(err as Error).message})`);
  }
}

/** The error as the API answers it: `{"error": {"code", "message", ...details}}`. */
export function errorResponse(err: unknown): HttpResponse {
  const error = asStrataError(err);
  const headers: Record<string, string> = {};
  if (error instanceof RetryableError) headers['retry-after'] = String(error.retryAfterSeconds);
  else if (error.status === 429 || error.status === 503) headers['retry-after'] = '1';
  return json(error.status, { error: { code: error.code, message: error.message, ...error.details } }, headers);
}

/**
 * The StrataError the API answers for any thrown value: a StrataError as `answered` gives
 * it (a storage failure the engine let through is 429 THROTTLED or 503 RETRY: the AWS
 * adapter translated it, lib/aws/errors.ts); anything else is a bug (500).
 */
export function asStrataError(err: unknown): StrataError {
  if (err instanceof StrataError) return answered(err);
  return new InternalError('internal error: this is a bug in Strata, please report it', { cause: err });
}
