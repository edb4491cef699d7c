/**
 * The local push endpoint: WebSocket connections on the local server's own port (path
 * PUSH_PATH), each frame turned into the event API Gateway's WebSocket API would send
 * and given to the same handler (functions/push/handler.ts). Routes are picked as API
 * Gateway picks them with `$request.body.action`, and the handler's answer goes back on
 * the socket, as a route with a route response does. It is also the append path's
 * ConnectionPoster: the fan-out posts here what it posts to `@connections` on AWS.
 *
 * Like API Gateway it closes a connection after `maxConnectionMs` (2 hours) and after
 * `idleTimeoutMs` without a frame from the client (10 minutes), so a client that does
 * not ping or reconnect fails here as it would there.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { type WebSocket, WebSocketServer } from 'ws';
import type { WebSocketHandler, WebSocketResponse } from '../functions/push/handler.js';
import { PUSH_MAX_CONNECTION_MS } from '../lib/core/constants.js';
import type { ConnectionPoster } from '../lib/push/fanout.js';
import { PUSH_ACTIONS, type PushMessage } from '../lib/push/protocol.js';

/** Where the local server takes WebSocket upgrades; `GET` without an upgrade is the discovery route. */
export const PUSH_PATH = '/v1/push';
/** API Gateway's idle timeout of a WebSocket connection. */
export const PUSH_IDLE_TIMEOUT_MS = 10 * 60_000;
/** API Gateway's largest message (128 KB). */
const MAX_MESSAGE_BYTES = 128 * 1024;

export interface LocalPushOptions {
  maxConnectionMs?: number;
  idleTimeoutMs?: number;
}

interface Connection {
  socket: WebSocket;
  connectedAt: number;
  idle: NodeJS.Timeout;
  lifetime: NodeJS.Timeout;
}

export class LocalPushServer implements ConnectionPoster {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  private readonly connections = new Map<string, Connection>();
  /** Handler calls in flight, which close() waits for (a `$disconnect` writes to DynamoDB). */
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly maxConnectionMs: number;
  private readonly idleTimeoutMs: number;

  constructor(
    private readonly handler: WebSocketHandler,
    options: LocalPushOptions = {},
  ) {
    this.maxConnectionMs = options.maxConnectionMs ?? PUSH_MAX_CONNECTION_MS;
    this.idleTimeoutMs = options.idleTimeoutMs ?? PUSH_IDLE_TIMEOUT_MS;
  }

  /** Takes the server's upgrades to PUSH_PATH; any other path is refused with 404. */
  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (new URL(req.url ?? '/', 'http://local').pathname !== PUSH_PATH) {
        socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      void this.accept(req, socket, head);
    });
  }

  /** Open connections (for tests and the chaos suite). */
  get connectionIds(): string[] {
    return [...this.connections.keys()];
  }

  /** Closes a connection from the server's side, as API Gateway does at its limits or on `DeleteConnection`. */
  disconnect(connectionId: string, code = 1001): void {
    this.connections.get(connectionId)?.socket.close(code, 'closed by the server');
  }

  async post(connectionId: string, message: PushMessage): Promise<'sent' | 'gone'> {
    const connection = this.connections.get(connectionId);
    if (!connection || connection.socket.readyState !== connection.socket.OPEN) return 'gone';
    await new Promise<void>((resolve, reject) => connection.socket.send(JSON.stringify(message), (err) => (err ? reject(err) : resolve())));
    return 'sent';
  }

  async close(): Promise<void> {
    const closing = [...this.connections.values()].map(
      ({ socket }) => new Promise<void>((resolve) => socket.once('close', () => resolve())),
    );
    for (const id of [...this.connections.keys()]) this.disconnect(id, 1001);
    await Promise.race([Promise.all(closing), new Promise((r) => setTimeout(r, 2000))]);
    for (const { socket } of this.connections.values()) socket.terminate();
    await Promise.allSettled([...this.inFlight]);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  /** Runs the handler, tracked so that close() waits for it. */
  private run(event: APIGatewayProxyWebsocketEventV2): Promise<WebSocketResponse> {
    const call = this.handler(event);
    this.inFlight.add(call);
    void call.finally(() => this.inFlight.delete(call)).catch(() => undefined);
    return call;
  }

  private async accept(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // API Gateway's ids are 16 base64 characters, e.g. `L0SM9cOFvHcCIhw=`.
    const connectionId = randomBytes(12).toString('base64');
    const connectedAt = Date.now();
    const answer = await this.run(this.event(connectionId, '$connect', 'CONNECT', connectedAt, undefined, req)).catch(() => ({
      statusCode: 500,
    }));
    if (answer.statusCode < 200 || answer.statusCode > 299) {
      socket.end(`HTTP/1.1 ${answer.statusCode} Refused\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const connection: Connection = {
        socket: ws,
        connectedAt,
        idle: setTimeout(() => ws.close(1001, 'idle timeout'), this.idleTimeoutMs),
        lifetime: setTimeout(() => ws.close(1001, 'connection lifetime reached'), this.maxConnectionMs),
      };
      this.connections.set(connectionId, connection);
      ws.on('message', (data, isBinary) => {
        connection.idle.refresh();
        const body = Buffer.isBuffer(data) ? data.toString(isBinary ? 'base64' : 'utf8') : Buffer.concat(data as Buffer[]).toString('utf8');
        void this.run(this.event(connectionId, routeOf(body), 'MESSAGE', connectedAt, body))
          .then((response) => {
            if (response.body !== undefined && ws.readyState === ws.OPEN) ws.send(response.body);
          })
          .catch(() => undefined);
      });
      ws.on('close', () => {
        clearTimeout(connection.idle);
        clearTimeout(connection.lifetime);
        this.connections.delete(connectionId);
        void this.run(this.event(connectionId, '$disconnect', 'DISCONNECT', connectedAt)).catch(() => undefined);
      });
      ws.on('error', () => ws.terminate());
    });
  }

  private event(
    connectionId: string,
    routeKey: string,
    eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT',
    connectedAt: number,
    body?: string,
    req?: IncomingMessage,
  ): APIGatewayProxyWebsocketEventV2 {
    const now = new Date();
    return {
      ...(body !== undefined ? { body } : {}),
      isBase64Encoded: false,
      ...(req
        ? { headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')])) }
        : {}),
      requestContext: {
        routeKey,
        messageId: randomUUID(),
        eventType,
        extendedRequestId: randomUUID(),
        requestTime: now.toISOString(),
        messageDirection: 'IN',
        stage: 'local',
        connectedAt,
        requestTimeEpoch: now.getTime(),
        requestId: randomUUID(),
        domainName: 'local',
        connectionId,
        apiId: 'local',
      },
    } as APIGatewayProxyWebsocketEventV2;
  }
}

/** API Gateway's route selection `$request.body.action`: a known action, else `$default`. */
function routeOf(body: string): string {
  try {
    const action = (JSON.parse(body) as { action?: unknown }).action;
    return typeof action === 'string' && (PUSH_ACTIONS as readonly string[]).includes(action) ? action : '$default';
  } catch {
    return '$default';
  }
}
