/**
 * The push endpoint on AWS: an API Gateway WebSocket API whose routes (`$connect`,
 * `$disconnect`, `subscribe`, `unsubscribe`, `ping`, `$default`) all go to the push
 * function (functions/push/handler.ts), `$connect` authorized by IAM (SigV4 query
 * string, `execute-api:Invoke` on `…/{stage}/$connect`), and the routes that answer
 * returning the function's frame to the client. The append function posts `moved`
 * frames through the stage's management API (`execute-api:ManageConnections`).
 * docs/design.md ("Push for tailing consumers") says why API Gateway's WebSocket API
 * and not AppSync Events, and why notifications come from the append path.
 */

import type { RemovalPolicy } from 'aws-cdk-lib';
import { Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { PUSH_ACTIONS } from '../lib/push/protocol.js';

export const PUSH_STAGE_NAME = 'v1';

export interface PushApiProps {
  /** The push function (functions/push/handler.ts). */
  handler: lambda.IFunction;
  /** IAM on `$connect` (the default), or none (an open endpoint, asked for explicitly with the HTTP API's `auth: none`). */
  auth: 'iam' | 'none';
  /** Stage throttling; API Gateway's account defaults when absent. */
  throttle?: { rateLimit: number; burstLimit: number };
  logRetention: logs.RetentionDays;
  logRemoval: RemovalPolicy;
}

/** The WebSocket access log: who connected, which route, what the integration answered. */
const PUSH_ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  connectionId: '$context.connectionId',
  eventType: '$context.eventType',
  routeKey: '$context.routeKey',
  status: '$context.status',
  ip: '$context.identity.sourceIp',
  caller: '$context.identity.caller',
  user: '$context.identity.user',
  requestTime: '$context.requestTime',
  integrationLatency: '$context.integrationLatency',
  error: '$context.error.message',
};

export class PushApi extends Construct {
  readonly api: apigwv2.WebSocketApi;
  readonly stage: apigwv2.WebSocketStage;

  constructor(scope: Construct, id: string, props: PushApiProps) {
    super(scope, id);
    const integration = (name: string) => new WebSocketLambdaIntegration(`${name}Integration`, props.handler);
    this.api = new apigwv2.WebSocketApi(this, 'Api', {
      description: 'Strata push notifications for tailing consumers (docs/push.md)',
      // What the local server and this API both route on (lib/push/protocol.ts).
      routeSelectionExpression: '$request.body.action',
      connectRouteOptions: {
        integration: integration('Connect'),
        ...(props.auth === 'iam' ? { authorizer: new WebSocketIamAuthorizer() } : {}),
      },
      disconnectRouteOptions: { integration: integration('Disconnect') },
      // Frames with an unknown action get the function's error frame, not silence.
      defaultRouteOptions: { integration: integration('Default'), returnResponse: true },
    });
    for (const action of PUSH_ACTIONS) this.api.addRoute(action, { integration: integration(capitalize(action)), returnResponse: true });

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: props.logRetention, removalPolicy: props.logRemoval });
    this.stage = new apigwv2.WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: PUSH_STAGE_NAME,
      autoDeploy: true,
      ...(props.throttle ? { throttle: props.throttle } : {}),
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(PUSH_ACCESS_LOG_FIELDS)),
      },
    });
    for (const child of this.api.node.findAll()) {
      if (!(child instanceof apigwv2.CfnRoute)) continue;
      // Only `$connect` takes an authorizer in a WebSocket API; the other routes run on a
      // connection `$connect` let in.
      const connect = child.routeKey === '$connect';
      if (connect && props.auth === 'iam') continue;
      Validations.of(child).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: connect
          ? "Open push endpoint asked for explicitly (the HTTP API's auth: none)."
          : 'API Gateway WebSocket APIs authorize only the $connect route (IAM here); messages and $disconnect run on a connection $connect admitted.',
      });
    }
  }

  /** `wss://{api}.execute-api.{region}.amazonaws.com/v1`: what `GET /v1/push` tells consumers. */
  get url(): string {
    return this.stage.url;
  }

  /** `https://…/v1`: where the append function posts to connections. */
  get callbackUrl(): string {
    return this.stage.callbackUrl;
  }

  /** `execute-api:ManageConnections` on this stage's connections: for the function that posts notifications. */
  grantPost(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:ManageConnections'],
      resourceArns: [
        Stack.of(this).formatArn({
          service: 'execute-api',
          resource: this.api.apiId,
          resourceName: `${PUSH_STAGE_NAME}/POST/@connections/*`,
        }),
      ],
    });
  }

  /** `execute-api:Invoke` on `$connect`: a consumer may open a push connection (and then subscribe to any topic it names). */
  grantConnect(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [
        Stack.of(this).formatArn({ service: 'execute-api', resource: this.api.apiId, resourceName: `${PUSH_STAGE_NAME}/$connect` }),
      ],
    });
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
