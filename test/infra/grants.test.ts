/**
 * The StrataLog's scoped grants (infra/grants.ts): the exact execute-api ARNs each grant
 * allows, what they become on function URLs, and the example of infra/README.md, a
 * producer function in another stack allowed to append to one topic only, with no
 * cdk-nag IAM5 finding in that stack.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { ROUTES, routeKey } from '../../functions/shared/routes.js';
import { GRANT_ROUTES } from '../../infra/grants.js';
import type { StrataLog } from '../../infra/strata-log.js';
import { StrataStack, type StrataStackProps } from '../../infra/strata-stack.js';

/** An app that skips bundling, with the Strata stack and a caller stack in the same environment. */
function setup(props: StrataStackProps = {}): { app: App; log: StrataLog; strata: StrataStack; caller: Stack; role: iam.Role } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const env = { account: '111122223333', region: 'eu-west-1' };
  const strata = new StrataStack(app, 'Strata', { ...props, env });
  const caller = new Stack(app, 'Caller', { env });
  const role = new iam.Role(caller, 'Service', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
  return { app, log: strata.log, strata, caller, role };
}

/** A CloudFormation value as one string: references as `<Ref>`, imports as `<import:Name>`. */
function flat(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, any>;
  if (v['Fn::Join']) return (v['Fn::Join'][1] as unknown[]).map(flat).join(v['Fn::Join'][0]);
  if (v.Ref) return `<${v.Ref}>`;
  if (v['Fn::GetAtt']) return `<${v['Fn::GetAtt'].join('.')}>`;
  if (v['Fn::ImportValue']) return `<import:${v['Fn::ImportValue']}>`;
  return JSON.stringify(value);
}

/** Every statement of the caller stack's policies, resources flattened. */
function statements(stack: Stack): { Action: string | string[]; Resource: string[]; Condition?: unknown }[] {
  const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
  return Object.values(policies).flatMap((p: any) =>
    p.Properties.PolicyDocument.Statement.map((s: any) => ({ ...s, Resource: [s.Resource].flat().map(flat) })),
  );
}

/** `execute-api:Invoke` resources, as `{METHOD}/{path}` after the API id and stage. */
function apiPaths(stack: Stack): string[] {
  // The API's id, imported from the Strata stack (an export of the LogApi's Ref).
  const prefix =
    /^arn:<AWS::Partition>:execute-api:eu-west-1:111122223333:<import:Strata:ExportsOutputRefLogApi[0-9A-F]{8}[0-9A-F]*>\/\$default\//;
  const resources = statements(stack)
    .filter((s) => s.Action === 'execute-api:Invoke')
    .flatMap((s) => s.Resource);
  for (const r of resources) expect(r, r).toMatch(prefix);
  return resources.map((r) => r.replace(prefix, '')).sort();
}

function iam5(stack: Stack): string[] {
  return new AwsSolutionsChecks()
    .validateScope(stack)
    .violations.filter((v) => v.ruleName.startsWith('AwsSolutions-IAM5'))
    .map((v) => v.ruleName);
}

const PARTITIONS = ['?', '??', '???', '????'];

describe('the grant tables', () => {
  it('put every route of functions/shared/routes.ts in some grant, and name only routes that exist', () => {
    const granted = new Set(Object.values(GRANT_ROUTES).flatMap((g) => [...g.all, ...(g.named ?? [])]));
    expect([...granted].filter((k) => !ROUTES.some((r) => routeKey(r) === k))).toEqual([]);
    expect(ROUTES.map(routeKey).filter((k) => !granted.has(k))).toEqual([]);
  });

  it('give no append or admin grant a read route, and no read grant a write', () => {
    const fnOf = (key: string) => ROUTES.find((r) => routeKey(r) === key)!;
    for (const key of GRANT_ROUTES.read.all) expect(fnOf(key).method, key).toBe('GET');
    for (const key of GRANT_ROUTES.append.all) expect(fnOf(key).method, key).toBe('POST');
    expect(GRANT_ROUTES.admin.all.filter((k) => k.startsWith('GET ') && k !== 'GET /v1/topics')).toEqual([]);
  });
});

describe('grantAppend', () => {
  it('for one topic: its two append routes, every partition by ? patterns, and describing it; nothing else', () => {
    const { log, caller, role } = setup();
    log.grantAppend(role, 'orders');
    expect(apiPaths(caller)).toEqual(
      [
        'POST/v1/topics/orders/records',
        ...PARTITIONS.map((p) => `POST/v1/topics/orders/partitions/${p}/records`),
        'GET/v1/topics/orders',
      ].sort(),
    );
    expect(statements(caller).filter((s) => String(s.Action).startsWith('lambda:'))).toEqual([]);
  });

  it('for two topics: the same routes of each', () => {
    const { log, caller, role } = setup();
    log.grantAppend(role, ['clicks', 'views']);
    const paths = apiPaths(caller);
    expect(paths).toHaveLength(12);
    expect(paths).toContain('POST/v1/topics/views/partitions/???/records');
    expect(paths).toContain('GET/v1/topics/clicks');
  });

  it('for every topic: the append routes only, not describe (GET /v1/topics/* would be every read)', () => {
    const { log, caller, role } = setup();
    log.grantAppend(role);
    expect(apiPaths(caller)).toEqual(['POST/v1/topics/*/partitions/*/records', 'POST/v1/topics/*/records']);
  });

  it('refuses a name that is not a topic name, and an empty list', () => {
    const { log, role } = setup();
    expect(() => log.grantAppend(role, 'orders/*')).toThrow(/not a valid topic name/);
    expect(() => log.grantAppend(role, '..')).toThrow(/not a valid topic name/);
    expect(() => log.grantAppend(role, [])).toThrow(/empty list/);
  });
});

describe('grantRead', () => {
  it('for one topic: describe, records and offset lookups of its partitions, and where the push endpoint is', () => {
    const { log, caller, role } = setup();
    log.grantRead(role, 'orders');
    expect(apiPaths(caller)).toEqual(
      [
        'GET/v1/push',
        'GET/v1/topics/orders',
        ...PARTITIONS.flatMap((p) => [`GET/v1/topics/orders/partitions/${p}/records`, `GET/v1/topics/orders/partitions/${p}/offsets`]),
      ].sort(),
    );
  });

  it('for every topic: every GET route, nothing that writes', () => {
    const { log, caller, role } = setup();
    log.grantRead(role);
    // Every route of the read function, parameters as `*`: today's six and any added since.
    const expected = ROUTES.filter((r) => r.fn === 'read').map((r) => `${r.method}${r.path.replace(/\{[^}]+\}/g, '*')}`);
    expect(expected).toEqual(
      expect.arrayContaining(['GET/v1/topics', 'GET/v1/topics/*', 'GET/v1/topics/*/partitions/*/records', 'GET/v1/groups/*']),
    );
    expect(apiPaths(caller)).toEqual(expected.sort());
  });
});

describe('grantSubscribe', () => {
  it("allows execute-api:Invoke on the push endpoint's $connect only", () => {
    const { log, caller, role } = setup();
    log.grantSubscribe(role);
    const invokes = statements(caller).filter((s) => s.Action === 'execute-api:Invoke');
    expect(invokes.flatMap((s) => s.Resource)).toEqual([
      expect.stringMatching(
        /^arn:<AWS::Partition>:execute-api:eu-west-1:111122223333:<import:Strata:ExportsOutputRefLogPushApi[0-9A-F]+>\/v1\/\$connect$/,
      ),
    ]);
  });
});

describe('grantAdmin and grantConsumerGroup', () => {
  it('grantAdmin: create, list, change and delete topics', () => {
    const { log, caller, role } = setup();
    log.grantAdmin(role);
    expect(apiPaths(caller)).toEqual(['DELETE/v1/topics/*', 'GET/v1/topics', 'PATCH/v1/topics/*', 'POST/v1/topics'].sort());
  });

  it("grantConsumerGroup for one group: its offsets and membership; member ids by '*' inside the group's path", () => {
    const { log, caller, role } = setup();
    log.grantConsumerGroup(role, 'billing');
    expect(apiPaths(caller)).toEqual(
      [
        'GET/v1/groups/billing/offsets',
        'PUT/v1/groups/billing/offsets',
        'GET/v1/groups/billing',
        'POST/v1/groups/billing/members',
        'POST/v1/groups/billing/members/*/heartbeat',
        'DELETE/v1/groups/billing/members/*',
      ].sort(),
    );
    expect(() => log.grantConsumerGroup(role, 'a b')).toThrow(/not a valid group name/);
  });

  it('refuse with an API that is not IAM-authorized', () => {
    const { log, role } = setup({ log: { auth: { type: 'jwt', issuer: 'https://issuer.example.com', audience: ['client'] } } });
    expect(() => log.grantAppend(role, 'orders')).toThrow(/auth is 'jwt'/);
  });
});

describe('grants on function URLs', () => {
  it("refuse a topic-scoped grant with endpoints 'function-urls': a URL cannot be scoped by path", () => {
    const { log, role } = setup({ log: { endpoints: 'function-urls' } });
    expect(() => log.grantAppend(role, 'orders')).toThrow(/function URLs cannot be scoped to a topic/);
    expect(() => log.grantRead(role, 'orders')).toThrow(/function URLs cannot be scoped to a topic/);
    expect(() => log.grantConsumerGroup(role, 'billing')).toThrow(/cannot be scoped to a group/);
  });

  it("give a topic-scoped grant on the API only with 'both', so the URL cannot widen it", () => {
    const { log, caller, role } = setup({ log: { endpoints: 'both' } });
    log.grantAppend(role, 'orders');
    expect(apiPaths(caller)).toHaveLength(6);
    expect(statements(caller).filter((s) => String(s.Action).startsWith('lambda:'))).toEqual([]);
  });

  it("grantRead for every topic: the read function's URL only, which serves nothing but reads (no warning)", () => {
    const { app, log, caller, role, strata } = setup({ log: { endpoints: 'function-urls' } });
    log.grantRead(role);
    const lambdaStatements = statements(caller).filter((s) => String(s.Action).startsWith('lambda:'));
    expect(lambdaStatements.length).toBeGreaterThan(0);
    for (const s of lambdaStatements)
      for (const r of s.Resource) expect(r).toMatch(/^<import:Strata:ExportsOutputFnGetAttLogReadFunction\w+Arn\w*>$/);
    expect(statements(caller).some((s) => s.Action === 'execute-api:Invoke')).toBe(false);
    app.synth();
    expect(Annotations.fromStack(strata).findWarning('*', Match.stringLikeRegexp('url'))).toEqual([]);
  });

  it("grantAppend for every topic: the append function's URL, with a synth warning that it also allows topic management", () => {
    const { log, role, strata } = setup({ log: { endpoints: 'function-urls' } });
    log.grantAppend(role);
    const warnings = Annotations.fromStack(strata).findWarning('*', Match.stringLikeRegexp('also allows POST /v1/topics'));
    expect(warnings).toHaveLength(1);
    expect(String(warnings[0]!.entry.data)).toContain('DELETE /v1/topics/{topic}');
  });
});

describe('a producer function in another stack, allowed to append to one topic', () => {
  it('gets a policy in its own stack naming that topic only, with no cdk-nag IAM5 finding', () => {
    const { log, caller } = setup();
    // infra/README.md, "Grants": the example.
    const producer = new lambda.Function(caller, 'OrdersProducer', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('export const handler = async () => {};'),
    });
    log.grantAppend(producer, 'orders');

    const paths = apiPaths(caller);
    expect(paths.every((p) => p.includes('/v1/topics/orders'))).toBe(true);
    expect(paths.some((p) => p.includes('*'))).toBe(false);
    expect(iam5(caller)).toEqual([]);
  });

  it('an all-topics grant, by contrast, is an IAM5 finding the caller acknowledges', () => {
    const { log, caller, role } = setup();
    log.grantAppend(role);
    expect(iam5(caller).length).toBeGreaterThan(0);
  });
});
