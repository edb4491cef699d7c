/**
 * The HTTP layer of the client: JSON requests to the Strata API (and binary answers,
 * for reads), signed with SigV4 when the target is AWS, plain for the local stack. The
 * target is one base URL (API Gateway, the local server) or the two Lambda function
 * URLs of a stack deployed with them, each request going to the function that serves
 * its route (functions/shared/routes.ts). SigV4's service is `execute-api` for API
 * Gateway and `lambda` for function URLs. Any answer other than 2xx becomes the
 * engine's typed error (client/errors.ts). The `fetch` it uses is injectable, which is
 * how tests lose responses on purpose.
 *
 * @example
 * new Transport({ url: 'https://abc123.execute-api.eu-west-1.amazonaws.com' });
 * new Transport({ url: { appendUrl: 'https://a1.lambda-url.eu-west-1.on.aws/', readUrl: 'https://r1.lambda-url.eu-west-1.on.aws/' } });
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { SignatureV4 } from '@smithy/signature-v4';
import { type FunctionName, matchRoute } from '../functions/shared/routes.js';
import { ConnectionError, errorFromResponse, RequestTimeoutError } from './errors.js';
import { webSocketPresigner } from './push.js';

/** AWS credentials, or a function that resolves them (as the SDK's providers do). */
export type Credentials =
  | { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  | (() => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }>);

/**
 * The two Lambda function URLs of a stack deployed with `endpoints: 'function-urls'`
 * (its `AppendUrl` and `ReadUrl` outputs): appends, topic and group writes go to the
 * append function's, everything that only reads to the read function's.
 */
export interface FunctionUrls {
  appendUrl: string;
  readUrl: string;
}

/** The SigV4 signing name: API Gateway's or Lambda's (function URLs). */
export type SigningService = 'execute-api' | 'lambda';

export interface TransportOptions {
  /**
   * Base URL of the API, e.g. `http://127.0.0.1:4510` or the API Gateway stage URL; or
   * the two function URLs `{ appendUrl, readUrl }`.
   */
  url: string | FunctionUrls;
  /**
   * Sign requests with SigV4. Default: true when the URL is an AWS host
   * (`*.amazonaws.com`, `*.on.aws`) or `credentials` are given.
   */
  sign?: boolean;
  /**
   * The service to sign for. Default: `lambda` for a function URL host
   * (`{id}.lambda-url.{region}.on.aws`) or when `url` is `{ appendUrl, readUrl }`, else
   * `execute-api`. Name it for a custom domain in front of either.
   */
  service?: SigningService;
  /** Credentials to sign with; default the SDK's Node provider chain (env, profile, SSO, IMDS). */
  credentials?: Credentials;
  /** Region to sign for; default from an `execute-api.{region}` or `lambda-url.{region}` URL, else AWS_REGION. */
  region?: string;
  /** Abort a request without an answer after this long (long-polls get their wait added). */
  requestTimeoutMs?: number;
  /** The fetch implementation; default the global one. */
  fetch?: typeof fetch;
  /** Extra headers on every request (e.g. a user agent). */
  headers?: Record<string, string>;
}

export interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  /** The Accept header; default `application/json`. Error answers are JSON whatever it says. */
  accept?: string;
  body?: unknown;
  signal?: AbortSignal;
  /** Added to the request timeout (the server may hold a long-poll this long). */
  extraTimeoutMs?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** Where one function's requests go, and how they are signed. */
interface Endpoint {
  baseUrl: string;
  signer: SignatureV4 | undefined;
}

export class Transport {
  /** The API's base URL; with function URLs, the append function's. */
  readonly baseUrl: string;
  /** The SigV4 service requests are signed for; undefined when they are not signed. */
  readonly service: SigningService | undefined;
  private readonly endpoints: Record<FunctionName, Endpoint>;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;

  constructor(private readonly options: TransportOptions) {
    const urls =
      typeof options.url === 'string'
        ? { append: options.url, read: options.url }
        : { append: options.url.appendUrl, read: options.url.readUrl };
    const bases = { append: trimSlashes(urls.append), read: trimSlashes(urls.read) };
    const hosts = { append: new URL(bases.append).hostname, read: new URL(bases.read).hostname };
    this.baseUrl = bases.append;
    this.fetchImpl = options.fetch ?? fetch;
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const sign = options.sign ?? (Object.values(hosts).some(isAwsHost) || options.credentials !== undefined);
    this.service = sign
      ? (options.service ?? (typeof options.url !== 'string' || isFunctionUrlHost(hosts.append) ? 'lambda' : 'execute-api'))
      : undefined;
    const credentials = sign ? (options.credentials ?? fromNodeProviderChain()) : undefined;
    const signer = (fn: FunctionName): SignatureV4 | undefined => {
      if (!this.service || !credentials) return undefined;
      return new SignatureV4({
        service: this.service,
        region: signingRegion(options.region, hosts[fn], bases[fn]),
        credentials,
        sha256: Sha256,
      });
    };
    this.endpoints = { append: { baseUrl: bases.append, signer: signer('append') }, read: { baseUrl: bases.read, signer: signer('read') } };
    this.credentials = credentials;
  }

  private readonly credentials: Credentials | undefined;

  /**
   * A signer of the push endpoint's `wss://` URL (SigV4 query string for `execute-api`,
   * the WebSocket API's `$connect` being IAM-authorized), with this transport's
   * credentials; undefined when requests are not signed.
   */
  webSocketPresigner(url: URL): ((url: URL) => Promise<URL>) | undefined {
    if (!this.credentials) return undefined;
    return webSocketPresigner(this.credentials, signingRegion(this.options.region, url.hostname, url.host));
  }

  /**
   * The base URL a request goes to: its route's function (functions/shared/routes.ts).
   * A path no route has goes to the read function, as API Gateway's `$default` route
   * sends it there, and is answered 404 or 405 in the API's format.
   */
  urlFor(method: string, path: string): string {
    return this.endpointFor(method, path).baseUrl;
  }

  private endpointFor(method: string, path: string): Endpoint {
    const match = matchRoute(method, path);
    return this.endpoints[match && 'route' in match ? match.route.fn : 'read'];
  }

  /** Sends one request; resolves with the parsed JSON body (undefined for 204). */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const { text } = await this.exchange(method, path, options, (r) => r.text());
    return parseJson(text) as T;
  }

  /**
   * Sends one request and resolves with the answer's bytes and content type, for an
   * answer that is not JSON (a binary read). A non-2xx answer is still a typed error.
   */
  async requestBytes(method: string, path: string, options: RequestOptions = {}): Promise<{ body: Uint8Array; contentType: string }> {
    const { response, text: body } = await this.exchange(method, path, options, async (r) => new Uint8Array(await r.arrayBuffer()));
    return { body, contentType: response.headers.get('content-type') ?? '' };
  }

  private async exchange<B extends string | Uint8Array>(
    method: string,
    path: string,
    options: RequestOptions,
    read: (response: Response) => Promise<B>,
  ): Promise<{ response: Response; text: B }> {
    const endpoint = this.endpointFor(method, path);
    const url = new URL(endpoint.baseUrl + path);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    let headers: Record<string, string> = { accept: options.accept ?? 'application/json', ...this.options.headers };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (endpoint.signer) headers = await this.signedHeaders(endpoint.signer, method, url, headers, body);

    const timeoutMs = this.timeoutMs + (options.extraTimeoutMs ?? 0);
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let response: Response;
    let content: B;
    try {
      response = await this.fetchImpl(url, { method, headers, ...(body !== undefined ? { body } : {}), signal });
      content = await read(response);
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason ?? err;
      if (timeout.aborted) throw new RequestTimeoutError(`${method} ${url.pathname}`, timeoutMs);
      throw new ConnectionError(endpoint.baseUrl, err);
    }
    if (!response.ok) {
      const retryAfter = response.headers.get('retry-after');
      const text = typeof content === 'string' ? content : Buffer.from(content).toString('utf8');
      throw errorFromResponse(response.status, parseJson(text), retryAfter !== null ? Number(retryAfter) : undefined);
    }
    return { response, text: content };
  }

  private async signedHeaders(signer: SignatureV4, method: string, url: URL, headers: Record<string, string>, body: string | undefined) {
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      headers: { ...headers, host: url.host },
      ...(body !== undefined ? { body } : {}),
    });
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(signed.headers)) if (k !== 'host') out[k] = v;
    return out;
  }
}

function trimSlashes(url: string): string {
  return url.replace(/\/+$/, '');
}

function isAwsHost(hostname: string): boolean {
  return hostname.endsWith('.amazonaws.com') || hostname.endsWith('.on.aws');
}

function isFunctionUrlHost(hostname: string): boolean {
  return /\.lambda-url\.[a-z0-9-]+\.on\.aws$/.test(hostname);
}

/** The region to sign for: the one given, the host's, or the environment's; an error naming `target` when none. */
function signingRegion(explicit: string | undefined, hostname: string, target: string): string {
  const region = explicit ?? regionOf(hostname) ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) throw new Error(`cannot tell the AWS region of ${target}: pass { region } or set AWS_REGION`);
  return region;
}

/** The region of an API Gateway (`{id}.execute-api.{region}.amazonaws.com`) or function URL (`{id}.lambda-url.{region}.on.aws`) host. */
function regionOf(hostname: string): string | undefined {
  return /\.(?:execute-api\.([a-z0-9-]+)\.amazonaws\.com|lambda-url\.([a-z0-9-]+)\.on\.aws)$/
    .exec(hostname)
    ?.slice(1)
    .find((r) => r !== undefined);
}

/** The body as JSON, or undefined when it is empty or not JSON. */
function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
