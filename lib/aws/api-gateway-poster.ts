/**
 * The API Gateway adapter of the push fan-out's ConnectionPoster: posts a notification to
 * one WebSocket connection through the management API (`@connections`). A connection API
 * Gateway no longer has (410 GoneException) is 'gone'; any other failure is thrown as a
 * Strata error (errors.ts), which the fan-out counts as failed.
 */
import { type ApiGatewayManagementApiClient, GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import type { ConnectionPoster } from '../push/fanout.js';
import type { PushMessage } from '../push/protocol.js';
import { translate } from './errors.js';

export class ApiGatewayPoster implements ConnectionPoster {
  constructor(private readonly client: ApiGatewayManagementApiClient) {}

  async post(connectionId: string, message: PushMessage): Promise<'sent' | 'gone'> {
    try {
      await this.client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: JSON.stringify(message) }));
      return 'sent';
    } catch (err) {
      if (err instanceof GoneException) return 'gone';
      throw translate(err, 'API Gateway PostToConnection');
    }
  }
}
