/**
 * The local HTTP server: serves HTTP API v1 by turning each request into the same API
 * Gateway v2 event that AWS would send and calling the same handlers. Routes come from
 * functions/shared/routes.ts, so local and deployed APIs cannot drift apart.
 *
 * It also stands in for the two Lambda function URLs of a stack deployed with
 * `endpoints: 'function-urls'`, under a path each (LOCAL_FUNCTION_URL_PATHS): a request
 * there becomes the event a function URL sends (routeKey `$default`, the path without
 * the prefix, the URL's `….lambda-url.…` domain), answered by the append handler
 * (buffered) or the read function's streaming entry (functions/shared/streaming.ts, with
 * the runtime's response stream played by the socket), so reads there may carry up to
 * 64 MiB (MAX_STREAMED_READ_MAX_BYTES). The client takes them as `{ appendUrl, readUrl }`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { HttpHandler } from '../functions/shared/dispatch.js';
import { errorResponse, type HttpResponse, rawBody } from '../functions/shared/http.js';
import { type FunctionName, matchRoute, routeKey, unmatchedRouteError } from '../functions/shared/routes.js';
import { type LambdaStreamingRuntime, type StreamingHandler, writeResponse } from '../functions/shared/streaming.js';
import { MAX_REQUEST_BODY_BYTES } from '../lib/core/constants.js';
import { PayloadTooLargeError } from '../lib/core/errors.js';

/** Where the local server stands in for each function's URL: `http://127.0.0.1:4510/function-urls/read` and so on. */
export const LOCAL_FUNCTION_URL_PATHS: Record<FunctionName, string> = { append: '/function-urls/append', read: '/function-urls/read' };

/** What answers at the function URL paths: the append handler, and the read function's streaming entry. */
export interface FunctionUrlHandlers {
  append: HttpHandler;
  read: StreamingHandler;
}

/**
 * The Node.js runtime's streaming API as a streamed function URL gives it: the prelude
 * becomes the answer's status and headers, the body goes to the socket as written.
 */
export const LOCAL_STREAMING_RUNTIME: LambdaStreamingRuntime = {
  streamifyResponse: (handler) => handler,
  HttpResponseStream: {
    from: (stream, prelude) => {
      (stream as ServerResponse).writeHead(prelude.statusCode, prelude.headers);
      return stream;
    },
  },
};

export interface LocalServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** A function the server runs for the Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`). */
export type InvokableFunction = (event: unknown) => Promise<unknown>;

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

export async function startHttpServer(
  handlers: Record<FunctionName, HttpHandler>,
  options: {
    port: number;
    host?: string;
    functions?: Record<string, InvokableFunction>;
    onInvokeError?: (err: unknown) => void;
    /** Serve the function URL stand-ins (LOCAL_FUNCTION_URL_PATHS) with these. */
    functionUrls?: FunctionUrlHandlers;
  },
): Promise<LocalServer> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    const invoke = INVOKE_PATH.exec(path);
    const fn = options.functionUrls ? functionUrlOf(path) : undefined;
    if (invoke && req.method === 'POST') void serveInvoke(options.functions ?? {}, invoke[1]!, req, res, options.onInvokeError);
    else if (fn && options.functionUrls) void serveFunctionUrl(options.functionUrls, fn, req, res);
    else void serve(handlers, req, res);
  });
  server.keepAliveTimeout = 65_000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function serve(handlers: Record<FunctionName, HttpHandler>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let response: HttpResponse;
  try {
    const url = new URL(req.url ?? '/', 'http://local');
    const method = req.method ?? 'GET';
    const match = matchRoute(method, url.pathname);
    if (!match || 'allowed' in match) throw unmatchedRouteError(method, url.pathname);
    const body = await readBody(req);
    const event = toEvent(req, url, body, routeKey(match.route), match.pathParameters);
    response = await handlers[match.route.fn](event);
  } catch (err) {
    response = errorResponse(err);
    if (err instanceof PayloadTooLargeError) res.setHeader('connection', 'close');
  }
  // API Gateway sends a base64-encoded answer's bytes, and so does this server.
  writeBuffered(res, response);
}

/** The function whose URL path `path` is under, if any. */
function functionUrlOf(path: string): FunctionName | undefined {
  for (const [fn, prefix] of Object.entries(LOCAL_FUNCTION_URL_PATHS) as [FunctionName, string][]) {
    if (path === prefix || path.startsWith(`${prefix}/`)) return fn;
  }
  return undefined;
}

/**
 * One request to a function URL stand-in: the function URL's event (its handler routes
 * by path, and answers WRONG_FUNCTION for the other function's routes), the append
 * function's answer as Lambda returns a buffered one, the read function's streamed.
 */
async function serveFunctionUrl(handlers: FunctionUrlHandlers, fn: FunctionName, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://local');
  url.pathname = url.pathname.slice(LOCAL_FUNCTION_URL_PATHS[fn].length) || '/';
  let event: APIGatewayProxyEventV2;
  try {
    event = toEvent(req, url, await readBody(req), '$default', {});
  } catch (err) {
    res.setHeader('connection', 'close');
    writeBuffered(res, errorResponse(err));
    return;
  }
  const { pathParameters: _none, ...rest } = event;
  event = { ...rest, requestContext: { ...event.requestContext, domainName: `${fn}.lambda-url.local`, domainPrefix: fn } };
  try {
    if (fn === 'read') await handlers.read(event, res);
    else writeBuffered(res, await handlers.append(event));
  } catch (err) {
    if (!res.headersSent) await writeResponse(event, errorResponse(err), res, LOCAL_STREAMING_RUNTIME);
    else res.destroy(err as Error);
  }
}

function writeBuffered(res: ServerResponse, response: HttpResponse): void {
  res.writeHead(response.statusCode, response.headers as Record<string, string>);
  res.end(rawBody(response) ?? (response.isBase64Encoded ? Buffer.from(response.body, 'base64') : response.body));
}

/**
 * The Lambda Invoke API, enough for the SDK's InvokeCommand: `Event` invocations answer
 * 202 at once and run in the background (as Lambda's async invocations do);
 * `RequestResponse` answers the function's result.
 */
async function serveInvoke(
  functions: Record<string, InvokableFunction>,
  name: string,
  req: IncomingMessage,
  res: ServerResponse,
  onError: ((err: unknown) => void) | undefined,
): Promise<void> {
  // Names are matched as sent (percent-encoded or not); a bad one is simply not found.
  const fn = functions[name.split(':').at(-1)!] ?? functions[safeDecode(name).split(':').at(-1)!];
  const body = await readBody(req).catch(() => '');
  if (!fn) {
    res.writeHead(404, { 'content-type': 'application/json', 'x-amzn-errortype': 'ResourceNotFoundException' });
    res.end(JSON.stringify({ Type: 'User', Message: `Function not found: ${name}` }));
    return;
  }
  let event: unknown;
  try {
    event = body ? JSON.parse(body) : {};
  } catch {
    res.writeHead(400, { 'content-type': 'application/json', 'x-amzn-errortype': 'InvalidRequestContentException' });
    res.end(JSON.stringify({ Type: 'User', Message: 'Could not parse request body into json' }));
    return;
  }
  if (req.headers['x-amz-invocation-type'] === 'Event') {
    res.writeHead(202);
    res.end();
    fn(event).catch((err: unknown) => onError?.(err));
    return;
  }
  try {
    const result = await fn(event);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(result ?? null));
  } catch (err) {
    res.writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' });
    res.end(JSON.stringify({ errorType: (err as Error).name, errorMessage: (err as Error).message }));
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Reads the body, refusing more than the Lambda payload limit without buffering it all. */
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_REQUEST_BODY_BYTES) {
      req.resume();
      reject(tooLarge(declared));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge(size));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function tooLarge(bytes: number): PayloadTooLargeError {
  return new PayloadTooLargeError(`the request body is over ${MAX_REQUEST_BODY_BYTES} bytes (${bytes}); the limit is 6 MB`);
}

function toEvent(
  req: IncomingMessage,
  url: URL,
  body: string,
  key: string,
  pathParameters: Record<string, string>,
): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
  const now = new Date();
  return {
    version: '2.0',
    routeKey: key,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    pathParameters,
    ...(body.length > 0 ? { body } : {}),
    isBase64Encoded: false,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: url.host,
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: key,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
  };
}
