/**
 * The deployed stack, as `cdk synth` produces it (functions bundled with esbuild): every
 * security property of the issue, least privilege per function, the API's routes, the
 * schedule, monitoring, and cdk-nag AwsSolutions and Serverless with nothing left unacknowledged.
 */
import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Validations } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ROUTES, routeKey } from '../../functions/shared/routes.js';
import { BUNDLE_BUDGET_BYTES, BUNDLE_FILE, FUNCTION_IDS, type FunctionId } from '../../infra/function-bundling.js';
import { FUNCTION_PERMISSIONS, PUSH_PERMISSIONS } from '../../infra/permissions.js';
import { TABLE_DEFINITION } from '../../infra/table-definition.js';
import { acknowledgements, removeSynthesized, type Synthesized, synthStrata, unacknowledgedFindings } from './synth.js';

const run = promisify(execFile);

let synth: Synthesized;
let template: Template;

beforeAll(() => {
  synth = synthStrata({}, { bundle: true });
  template = synth.template;
});
afterAll(removeSynthesized);

type Resources = Record<string, { Properties: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string }>;

function resources(type: string): Resources {
  return template.findResources(type) as Resources;
}

function only(type: string): { id: string; Properties: Record<string, any>; DeletionPolicy?: string } {
  const found = Object.entries(resources(type));
  expect(found, type).toHaveLength(1);
  const [id, resource] = found[0]!;
  return { id, ...resource };
}

/** The logical id of a construct of the StrataLog. */
function logicalId(construct: { node: { defaultChild?: unknown } }): string {
  return synth.stack.getLogicalId(construct.node.defaultChild as never);
}

/** Resources of `type` that belong to the HTTP API, not to the push endpoint's WebSocket API. */
function ofHttpApi(type: string): Resources {
  const apiId = logicalId(synth.stack.log.api!);
  return Object.fromEntries(Object.entries(resources(type)).filter(([, r]) => r.Properties.ApiId?.Ref === apiId));
}

/** The policy statements attached to a function's role, minus its own log group's. */
function statementsOf(fn: FunctionId | 'push'): any[] {
  const target = fn === 'push' ? synth.stack.log.pushFunction! : synth.stack.log.functions[fn];
  const roleId = logicalId(target.role as never);
  const policies = Object.values(resources('AWS::IAM::Policy')).filter((p) =>
    p.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleId),
  );
  return policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
}

describe('the table', () => {
  it('is the shared definition: pk/sk strings, on-demand, TTL on ttl, PITR, encrypted', () => {
    const table = only('AWS::DynamoDB::Table');
    expect(table.Properties).toMatchObject({
      KeySchema: [
        { AttributeName: TABLE_DEFINITION.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: TABLE_DEFINITION.sortKey.name, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: TABLE_DEFINITION.timeToLiveAttribute, Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      DeletionProtectionEnabled: true,
    });
  });

  it('is retained when the stack is deleted', () => {
    expect(only('AWS::DynamoDB::Table')).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });
});

describe('the segment bucket', () => {
  it('blocks every kind of public access, is encrypted, unversioned and retained', () => {
    const bucket = only('AWS::S3::Bucket');
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.Properties).toMatchObject({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    expect(bucket.Properties.VersioningConfiguration).toBeUndefined();
  });

  it('aborts incomplete multipart uploads after a day and expires nothing else', () => {
    const rules = only('AWS::S3::Bucket').Properties.LifecycleConfiguration.Rules;
    expect(rules).toEqual([expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' })]);
    expect(rules[0].ExpirationInDays).toBeUndefined();
  });

  it('denies every request that is not TLS 1.2+', () => {
    const statements = only('AWS::S3::BucketPolicy').Properties.PolicyDocument.Statement;
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
      ]),
    );
  });
});

describe('the functions', () => {
  it('are three arm64 nodejs22.x functions with the table, bucket and source maps in their environment', () => {
    for (const fn of FUNCTION_IDS) {
      const id = logicalId(synth.stack.log.functions[fn]);
      const props = resources('AWS::Lambda::Function')[id]!.Properties;
      expect(props).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        Environment: {
          Variables: expect.objectContaining({
            STRATA_TABLE_NAME: { Ref: logicalId(synth.stack.log.table) },
            STRATA_BUCKET_NAME: { Ref: logicalId(synth.stack.log.bucket) },
            NODE_OPTIONS: '--enable-source-maps',
          }),
        },
      });
    }
  });

  it('tell append which compact function to invoke for a flush', () => {
    const append = resources('AWS::Lambda::Function')[logicalId(synth.stack.log.functions.append)]!;
    expect(append.Properties.Environment.Variables.STRATA_COMPACT_FUNCTION_NAME).toEqual({
      Ref: logicalId(synth.stack.log.functions.compact),
    });
  });

  it('retry a failed asynchronous compact invocation twice, then send it to the dead-letter queue', () => {
    const compact = resources('AWS::Lambda::Function')[logicalId(synth.stack.log.functions.compact)]!;
    const queue = logicalId(synth.stack.log.deadLetterQueue);
    expect(compact.Properties.DeadLetterConfig).toEqual({ TargetArn: { 'Fn::GetAtt': [queue, 'Arn'] } });
    expect(only('AWS::Lambda::EventInvokeConfig').Properties).toMatchObject({ MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 });
  });

  it('bundle with esbuild into minified ESM under 1 MB that Node loads and that exports the handler', async () => {
    for (const fn of FUNCTION_IDS) {
      const props = resources('AWS::Lambda::Function')[logicalId(synth.stack.log.functions[fn])]!.Properties;
      const assetHash = String(props.Code.S3Key).replace(/\.zip$/, '');
      const dir = join(synth.outdir, `asset.${assetHash}`);
      expect(readdirSync(dir).sort()).toEqual([BUNDLE_FILE, `${BUNDLE_FILE}.map`]);
      const bytes = statSync(join(dir, BUNDLE_FILE)).size;
      expect(bytes, `${fn} bundle is ${bytes} bytes`).toBeLessThanOrEqual(BUNDLE_BUDGET_BYTES);
      // A fresh process, as a cold start: the module must evaluate without any AWS
      // configuration (clients are created on the first invocation).
      const { stdout } = await run(
        process.execPath,
        ['--input-type=module', '-e', `const m = await import(${JSON.stringify(join(dir, BUNDLE_FILE))}); console.log(typeof m.handler);`],
        { env: { PATH: process.env.PATH ?? '' } },
      );
      expect(stdout.trim(), fn).toBe('function');
    }
  });
});

describe('the HTTP API', () => {
  it('has one route per entry of functions/shared/routes.ts, plus $default for unknown paths', () => {
    const keys = Object.values(ofHttpApi('AWS::ApiGatewayV2::Route'))
      .map((r) => r.Properties.RouteKey)
      .sort();
    expect(keys).toEqual([...ROUTES.map(routeKey), '$default'].sort());
  });

  it('requires IAM (SigV4) authorization on every route', () => {
    for (const route of Object.values(ofHttpApi('AWS::ApiGatewayV2::Route'))) {
      expect(route.Properties.AuthorizationType, route.Properties.RouteKey).toBe('AWS_IAM');
    }
  });

  it('sends each route to the function the routes table names', () => {
    const integrations = ofHttpApi('AWS::ApiGatewayV2::Integration');
    const fnOfIntegration = (target: string) => {
      const id = target.replace(/^integrations\//, '');
      const uri = JSON.stringify(integrations[id]!.Properties.IntegrationUri);
      return FUNCTION_IDS.find((fn) => uri.includes(logicalId(synth.stack.log.functions[fn])));
    };
    const byKey = new Map(
      Object.values(ofHttpApi('AWS::ApiGatewayV2::Route')).map((r) => [
        r.Properties.RouteKey,
        fnOfIntegration(r.Properties.Target['Fn::Join'][1][1].Ref),
      ]),
    );
    for (const route of ROUTES) expect(byKey.get(routeKey(route)), routeKey(route)).toBe(route.fn);
    expect(byKey.get('$default')).toBe('read');
    for (const integration of Object.values(integrations)) expect(integration.Properties.PayloadFormatVersion).toBe('2.0');
  });

  it('throttles and writes JSON access logs on its auto-deployed $default stage', () => {
    const stages = Object.values(ofHttpApi('AWS::ApiGatewayV2::Stage'));
    expect(stages).toHaveLength(1);
    const stage = stages[0]!.Properties;
    expect(stage).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [expect.any(String), 'Arn'] } },
    });
    const format = JSON.parse(stage.AccessLogSettings.Format);
    expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status', routeKey: '$context.routeKey' });
  });
});

/** `arn:…:execute-api:{region}:{account}:{pushApiId}/v1/POST/@connections/*`, as the template writes it. */
function pushConnectionsArn() {
  return {
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':execute-api:',
        { Ref: 'AWS::Region' },
        ':',
        { Ref: 'AWS::AccountId' },
        ':',
        { Ref: logicalId(synth.stack.log.push!.api) },
        '/v1/POST/@connections/*',
      ],
    ],
  };
}

describe('the push endpoint', () => {
  const pushApiId = () => logicalId(synth.stack.log.push!.api);
  const ofPushApi = (type: string) => Object.values(resources(type)).filter((r) => r.Properties.ApiId?.Ref === pushApiId());

  it("is a WebSocket API routed on the frame's action, IAM on $connect, every route to the push function", () => {
    expect(resources('AWS::ApiGatewayV2::Api')[pushApiId()]!.Properties).toMatchObject({
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: '$request.body.action',
    });
    const routes = ofPushApi('AWS::ApiGatewayV2::Route');
    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual([
      '$connect',
      '$default',
      '$disconnect',
      'ping',
      'subscribe',
      'unsubscribe',
    ]);
    for (const route of routes) {
      expect(route.Properties.AuthorizationType ?? 'NONE', route.Properties.RouteKey).toBe(
        route.Properties.RouteKey === '$connect' ? 'AWS_IAM' : 'NONE',
      );
    }
    // The routes that answer return the function's frame to the client.
    const answering = ofPushApi('AWS::ApiGatewayV2::RouteResponse');
    expect(answering).toHaveLength(4);
    const pushFn = logicalId(synth.stack.log.pushFunction!);
    for (const integration of ofPushApi('AWS::ApiGatewayV2::Integration'))
      expect(JSON.stringify(integration.Properties.IntegrationUri)).toContain(pushFn);
  });

  it('throttles and writes JSON access logs on its v1 stage', () => {
    const [stage] = ofPushApi('AWS::ApiGatewayV2::Stage');
    expect(stage!.Properties).toMatchObject({
      StageName: 'v1',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [expect.any(String), 'Arn'] } },
    });
    expect(JSON.parse(stage!.Properties.AccessLogSettings.Format)).toMatchObject({
      connectionId: '$context.connectionId',
      eventType: '$context.eventType',
    });
  });

  it('tells the append function where to post and the read function what GET /v1/push answers', () => {
    const env = (fn: FunctionId) =>
      resources('AWS::Lambda::Function')[logicalId(synth.stack.log.functions[fn])]!.Properties.Environment.Variables;
    expect(JSON.stringify(env('append').STRATA_PUSH_CALLBACK_URL)).toContain(pushApiId());
    expect(JSON.stringify(env('read').STRATA_PUSH_URL)).toMatch(/wss:\/\//);
    expect(env('compact').STRATA_PUSH_URL).toBeUndefined();
  });

  it('lets the push function use only its table actions and log group', () => {
    const statements = statementsOf('push');
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: [...PUSH_PERMISSIONS.table],
          Resource: { 'Fn::GetAtt': [logicalId(synth.stack.log.table), 'Arn'] },
        }),
      ]),
    );
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions.filter((a: string) => a.startsWith('s3:') || a.startsWith('lambda:') || a.startsWith('execute-api:'))).toEqual([]);
  });
});

describe('least privilege', () => {
  const tableArn = () => ({ 'Fn::GetAtt': [logicalId(synth.stack.log.table), 'Arn'] });
  const objectsArn = (pattern: string) => ({
    'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(synth.stack.log.bucket), 'Arn'] }, `/${pattern}`]],
  });

  it.each(FUNCTION_IDS)('the %s function may use only its own table actions, key patterns and log group', (fn) => {
    const expected = FUNCTION_PERMISSIONS[fn];
    const statements = statementsOf(fn);
    const logGroupId = logicalId(synth.stack.log.functions[fn].logGroup as never);
    const allowed: unknown[] = [
      { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] } },
      // Active tracing: X-Ray has no resource-level permissions (acknowledged as IAM5 with that reason).
      { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' },
      { Effect: 'Allow', Action: [...expected.table], Resource: tableArn() },
      ...expected.objects.map((o) => ({
        Effect: 'Allow',
        Action: o.actions.length === 1 ? o.actions[0] : [...o.actions],
        Resource: objectsArn(o.pattern),
      })),
    ];
    if (expected.listObjects) {
      allowed.push({
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: { 'Fn::GetAtt': [logicalId(synth.stack.log.bucket), 'Arn'] },
        Condition: { StringLike: { 's3:prefix': ['topics/*'] } },
      });
    }
    if (fn === 'append') {
      allowed.push({
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: { 'Fn::GetAtt': [logicalId(synth.stack.log.functions.compact), 'Arn'] },
      });
      // Push notifications: POSTs to the WebSocket stage's connections only.
      allowed.push({ Effect: 'Allow', Action: 'execute-api:ManageConnections', Resource: pushConnectionsArn() });
    }
    if (fn === 'compact') {
      allowed.push({
        Effect: 'Allow',
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': [logicalId(synth.stack.log.deadLetterQueue), 'Arn'] },
      });
      // Fan-out and continuations: it invokes itself (unqualified ARN only).
      allowed.push({
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: { 'Fn::GetAtt': [logicalId(synth.stack.log.functions.compact), 'Arn'] },
      });
    }
    expect(statements).toHaveLength(allowed.length);
    expect(statements).toEqual(expect.arrayContaining(allowed.map((s) => expect.objectContaining(s as object))));
  });

  it('the read function cannot write anything', () => {
    const actions = statementsOf('read').flatMap((s) => [s.Action].flat() as string[]);
    expect(
      actions.filter((a) => /Put|Update|Delete|Write|Invoke|SendMessage/.test(a) && !a.startsWith('logs:') && !a.startsWith('xray:')),
    ).toEqual([]);
  });

  it("no IAM statement anywhere has a wildcard action or a `*` resource but X-Ray's, and no role has a managed policy", () => {
    for (const [id, policy] of Object.entries(resources('AWS::IAM::Policy'))) {
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        for (const action of [statement.Action].flat()) expect(String(action), id).not.toMatch(/\*/);
        // xray:PutTraceSegments and PutTelemetryRecords support no resource-level permissions.
        const xray = [statement.Action].flat().every((a) => String(a).startsWith('xray:'));
        for (const resource of [statement.Resource].flat()) if (!xray) expect(resource, id).not.toBe('*');
      }
    }
    for (const role of Object.values(resources('AWS::IAM::Role'))) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('each function role can be assumed by Lambda only', () => {
    for (const role of Object.values(resources('AWS::IAM::Role'))) {
      expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
        expect.objectContaining({ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }),
      ]);
    }
  });
});

describe('the compaction schedule', () => {
  it('invokes compact every 5 minutes with retries and a dead-letter queue', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [logicalId(synth.stack.log.functions.compact), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(synth.stack.log.deadLetterQueue), 'Arn'] } },
        }),
      ],
    });
  });

  it('keeps dead letters encrypted, TLS-only, for 14 days', () => {
    expect(only('AWS::SQS::Queue').Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    const statements = only('AWS::SQS::QueuePolicy').Properties.PolicyDocument.Statement;
    expect(statements).toEqual(
      expect.arrayContaining([expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
    );
  });
});

describe('monitoring', () => {
  it('alarms on errors, throttles and duration near the timeout of each function, unexpected 5xx, account concurrency, dropped and aged compact events, DynamoDB throttles, dead letters, a stalled compact, flush lag and the push path', () => {
    const alarms = Object.keys(resources('AWS::CloudWatch::Alarm'));
    const expected = [
      ...FUNCTION_IDS.flatMap((fn) => [`${cap(fn)}Errors`, `${cap(fn)}Throttles`, `${cap(fn)}DurationNearTimeout`]),
      'ServerErrors',
      'AccountConcurrency',
      'CompactEventsDropped',
      'CompactEventAge',
      'DynamoThrottles',
      'DeadLetterQueueDepth',
      'CompactStalled',
      'FlushLag',
      'PushErrors',
      'PushThrottles',
      'PushNotificationsFailed',
    ];
    expect(alarms).toHaveLength(expected.length);
    for (const name of expected)
      expect(
        alarms.some((id) => id.startsWith(`LogMonitoring${name}`)),
        name,
      ).toBe(true);
  });

  it('treats a compact function that stopped running as an alarm, not as missing data', () => {
    const stalled = Object.entries(resources('AWS::CloudWatch::Alarm')).find(([id]) => id.startsWith('LogMonitoringCompactStalled'))![1];
    expect(stalled.Properties).toMatchObject({
      MetricName: 'Invocations',
      Namespace: 'AWS/Lambda',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
      EvaluationPeriods: 6,
    });
  });

  it('graphs the EMF metrics of namespace Strata on the dashboard', () => {
    const body = JSON.stringify(only('AWS::CloudWatch::Dashboard').Properties.DashboardBody);
    for (const metric of ['Latency', 'Status5xx', 'CommitRecords', 'CommitConflicts', 'CommitLatency', 'FlushBytes', 'GcObjectsDeleted']) {
      expect(body).toContain(metric);
    }
    expect(body).toContain('{Strata,route,service}');
  });
});

describe('cdk-nag AwsSolutions and Serverless', () => {
  it('has no finding left unacknowledged', () => {
    expect(unacknowledgedFindings(synth.app)).toEqual([]);
  });

  it('gives a written reason for every acknowledgement', () => {
    const acks = acknowledgements(synth.app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) expect(ack.reason.length, `${ack.rule} on ${ack.path}`).toBeGreaterThan(40);
  });

  it('acknowledges exactly the findings the stack raises, so no acknowledgement is stale', () => {
    // The same stack with acknowledge() turned off shows every raw finding.
    const spy = vi.spyOn(Validations.prototype, 'acknowledge').mockImplementation(() => undefined);
    let raw: ReturnType<typeof synthStrata>;
    try {
      raw = synthStrata();
    } finally {
      spy.mockRestore();
    }
    const found = unacknowledgedFindings(raw.app)
      .map((f) => `${f.rule} @ ${f.path}`)
      .sort();
    const acked = acknowledgements(synth.app).map((a) => a.rule.replace(/^Annotation::/, ''));
    for (const finding of found)
      expect(
        acked.some((rule) => finding.startsWith(`${rule} @`)),
        finding,
      ).toBe(true);
    for (const rule of new Set(acked))
      expect(
        found.some((f) => f.startsWith(`${rule} @`)),
        `stale acknowledgement ${rule}`,
      ).toBe(true);
  });
});

describe('the app', () => {
  let cdkOut: string | undefined;
  afterAll(async () => {
    if (cdkOut) await import('node:fs/promises').then((fs) => fs.rm(cdkOut!, { recursive: true, force: true }));
  });

  it('`npx cdk synth` synthesizes infra/app.ts offline, with cdk-nag passing', async () => {
    cdkOut = `${synth.outdir}-cli`;
    const { stdout } = await run('npx', ['cdk', 'synth', '--no-notices', '--quiet', '--no-version-reporting', '-o', cdkOut], {
      env: { ...process.env, CDK_DISABLE_VERSION_CHECK: 'true' },
      timeout: 120_000,
    });
    expect(stdout).not.toMatch(/AwsSolutions|Serverless-/);
    expect(readdirSync(cdkOut)).toContain('Strata.template.json');
  }, 120_000);
});

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
