/**
 * The benchmark's HTTP client: `node:http` with a keep-alive agent and pre-encoded
 * bodies. It runs in the same thread as the server it measures, so it must cost as
 * little as possible: `node:http` skips the web-streams layers that `fetch` (undici)
 * adds to every request, and a body serialised once is only copied to the socket.
 */
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface JsonResponse<T> {
  status: number;
  body: T;
}

export class BenchHttpClient {
  private readonly agent: Agent;
  private readonly base: URL;

  /** `sockets`: one per concurrent caller, so no request queues inside the agent. */
  constructor(baseUrl: string, sockets: number) {
    this.base = new URL(baseUrl);
    this.agent = new Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  }

  post<T>(path: string, body: Buffer): Promise<JsonResponse<T>> {
    return this.send<T>('POST', path, body);
  }

  get<T>(path: string): Promise<JsonResponse<T>> {
    return this.send<T>('GET', path, undefined);
  }

  /** A GET whose body is left unparsed, for a caller that times its own parsing; `accept` names the answer wanted. */
  getBytes(path: string, accept = 'application/json'): Promise<{ status: number; body: Buffer; contentType: string }> {
    return this.exchange('GET', path, undefined, accept);
  }

  /** Closes the idle keep-alive sockets. */
  close(): void {
    this.agent.destroy();
  }

  private async send<T>(method: string, path: string, body: Buffer | undefined): Promise<JsonResponse<T>> {
    const response = await this.exchange(method, path, body);
    const text = response.body.toString('utf8');
    try {
      return { status: response.status, body: JSON.parse(text) as T };
    } catch (err) {
      throw new Error(`${method} ${path} answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`, { cause: err });
    }
  }

  private exchange(
    method: string,
    path: string,
    body: Buffer | undefined,
    accept = 'application/json',
  ): Promise<{ status: number; body: Buffer; contentType: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          agent: this.agent,
          host: this.base.hostname,
          port: this.base.port,
          method,
          path,
          headers: body ? { 'content-type': 'application/json', 'content-length': body.byteLength } : { accept },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), contentType: res.headers['content-type'] ?? '' }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }
}

/** Throws with the API's error body unless the response has the expected status. */
export function expectStatus<T>(response: JsonResponse<T>, expected: number, what: string): T {
  if (response.status !== expected) {
    throw new Error(`${what} answered ${response.status}, expected ${expected}: ${JSON.stringify(response.body).slice(0, 500)}`);
  }
  return response.body;
}

export interface NullServer {
  url: string;
  close(): Promise<void>;
}

/**
 * A server that reads each request body whole and answers a fixed JSON body: the HTTP
 * work of an append without the append. Driving it with the benchmark's client shows
 * what the client and Node's HTTP stack cost per request in this process.
 */
export async function startNullServer(answer: string): Promise<NullServer> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      Buffer.concat(chunks).toString('utf8');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(answer);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
