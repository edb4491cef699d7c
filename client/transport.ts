/**
 * The HTTP layer of the client: JSON requests to the Strata API (and binary answers,
 * for reads), signed with SigV4 when
 * the target is AWS (API Gateway with IAM auth), plain for the local stack. Any answer
 * other than 2xx becomes the engine's typed error (client/errors.ts). The `fetch` it
 * uses is injectable, which is how tests lose responses on purpose.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { SignatureV4 } from '@smithy/signature-v4';
import { ConnectionError, errorFromResponse, RequestTimeoutError } from './errors.js';

/** AWS credentials, or a function that resolves them (as the SDK's providers do). */
export type Credentials =
  | { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  | (() => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }>);

export interface TransportOptions {
  /** Base URL of the API, e.g. `http://127.0.0.1:4510` or the API Gateway stage URL. */
  url: string;
  /**
   * Sign requests with SigV4. Default: true when the URL is an AWS host
   * (`*.amazonaws.com`) or `credentials` are given.
   */
  sign?: boolean;
  /** Credentials to sign with; default the SDK's Node provider chain (env, profile, SSO, IMDS). */
  credentials?: Credentials;
  /** Region to sign for; default from an `execute-api.{region}` URL, else AWS_REGION. */
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

export class Transport {
  readonly baseUrl: string;
  private readonly signer: SignatureV4 | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;

  constructor(private readonly options: TransportOptions) {
    this.baseUrl = options.url.replace(/\/+$/, '');
    const url = new URL(this.baseUrl);
    this.fetchImpl = options.fetch ?? fetch;
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const sign = options.sign ?? (url.hostname.endsWith('.amazonaws.com') || options.credentials !== undefined);
    if (sign) {
      const region = options.region ?? /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(url.hostname)?.[1] ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
      if (!region) throw new Error(`cannot tell the AWS region of ${this.baseUrl}: pass { region } or set AWS_REGION`);
      this.signer = new SignatureV4({
        service: 'execute-api',
        region,
        credentials: options.credentials ?? fromNodeProviderChain(),
        sha256: Sha256,
      });
    }
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
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    let headers: Record<string, string> = { accept: options.accept ?? 'application/json', ...this.options.headers };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.signer) headers = await this.signedHeaders(method, url, headers, body);

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
      throw new ConnectionError(this.baseUrl, err);
    }
    if (!response.ok) {
      const retryAfter = response.headers.get('retry-after');
      const text = typeof content === 'string' ? content : Buffer.from(content).toString('utf8');
      throw errorFromResponse(response.status, parseJson(text), retryAfter !== null ? Number(retryAfter) : undefined);
    }
    return { response, text: content };
  }

  private async signedHeaders(method: string, url: URL, headers: Record<string, string>, body: string | undefined) {
    const query: Record<string, string> = {};
    url.searchParams.forEach((v, k) => (query[k] = v));
    const signed = await this.signer!.sign({
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

/** The body as JSON, or undefined when it is empty or not JSON. */
function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
