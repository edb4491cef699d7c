/**
 * The construct's props: what each one changes in the template, the errors of the ones
 * that would be unsafe or meaningless, and the link between the dashboard and the
 * metrics the functions really emit. Synthesized without bundling (fast).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { afterAll, describe, expect, it } from 'vitest';
import { TOPIC_METRICS } from '../../functions/shared/observability.js';
import { PROJECT_ROOT } from '../../infra/function-bundling.js';
import { EMF_METRICS } from '../../infra/monitoring.js';
import { StrataLog } from '../../infra/strata-log.js';
import { stackPropsFromContext } from '../../infra/strata-stack.js';
import { removeSynthesized, synthStrata, unacknowledgedFindings } from './synth.js';

afterAll(removeSynthesized);

type Resources = Record<string, { Properties: Record<string, any>; DeletionPolicy?: string }>;

function resources(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

describe('StrataLog props', () => {
  it('opens the API only when asked, with a reason that acknowledges the cdk-nag finding', () => {
    const { app, template } = synthStrata({ log: { auth: { type: 'none', reason: 'demo stack behind a VPN for a workshop' } } });
    for (const route of Object.values(resources(template, 'AWS::ApiGatewayV2::Route'))) {
      expect(route.Properties.AuthorizationType).toBe('NONE');
    }
    expect(unacknowledgedFindings(app)).toEqual([]);
  });

  it('refuses an open API without a reason', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'S');
    expect(() => new StrataLog(stack, 'Log', { auth: { type: 'none', reason: ' ' } })).toThrow(/needs a reason/);
  });

  it('uses a JWT authorizer on every route with auth jwt', () => {
    const { template } = synthStrata({
      log: { auth: { type: 'jwt', issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc', audience: ['client-1'] } },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: { Issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc', Audience: ['client-1'] },
    });
    for (const route of Object.values(resources(template, 'AWS::ApiGatewayV2::Route'))) {
      expect(route.Properties.AuthorizationType).toBe('JWT');
    }
  });

  it('rejects a JWT issuer that is not https and an empty audience', () => {
    const stack = () => new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'S');
    expect(() => new StrataLog(stack(), 'Log', { auth: { type: 'jwt', issuer: 'http://idp', audience: ['a'] } })).toThrow(/https/);
    expect(() => new StrataLog(stack(), 'Log', { auth: { type: 'jwt', issuer: 'https://idp', audience: [] } })).toThrow(/audience/);
  });

  it('DESTROY deletes the table and bucket with the stack and turns deletion protection off', () => {
    const { template } = synthStrata({ log: { removalPolicy: RemovalPolicy.DESTROY } });
    const [table] = Object.values(resources(template, 'AWS::DynamoDB::Table'));
    expect(table!.DeletionPolicy).toBe('Delete');
    expect(table!.Properties.DeletionProtectionEnabled).toBe(false);
    expect(Object.values(resources(template, 'AWS::S3::Bucket'))[0]!.DeletionPolicy).toBe('Delete');
  });

  it('sets memory, timeout, reserved concurrency, throttling, schedule and alarm thresholds', () => {
    const { stack, template } = synthStrata({
      log: {
        functions: { read: { memorySize: 2048, timeout: Duration.seconds(25), reservedConcurrency: 50 } },
        throttle: { rateLimit: 50, burstLimit: 100 },
        compactionSchedule: events.Schedule.rate(Duration.minutes(1)),
        alarms: { serverErrors: 1, compactStalledAfter: Duration.minutes(10) },
      },
    });
    const read = resources(template, 'AWS::Lambda::Function')[stack.getLogicalId(stack.log.functions.read.node.defaultChild as never)]!;
    expect(read.Properties).toMatchObject({ MemorySize: 2048, Timeout: 25, ReservedConcurrentExecutions: 50 });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 1,
      Metrics: Match.arrayWith([
        Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'UnexpectedErrors' }) }) }),
      ]),
    });
    // 80% of the read function's reserved 50.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ConcurrentExecutions', Threshold: 40 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Invocations', EvaluationPeriods: 2 });
  });

  it('notifies an e-mail address of every alarm through an SSL-only SNS topic, cdk-nag clean', () => {
    const { app, template } = synthStrata({ alarmEmail: 'ops@example.com' });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    const topicId = Object.keys(resources(template, 'AWS::SNS::Topic'))[0]!;
    for (const alarm of Object.values(resources(template, 'AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    }
    expect(unacknowledgedFindings(app)).toEqual([]);
  });
});

describe('StrataLog function timeouts', () => {
  it('warn at synth when API Gateway or the longest long-poll cannot fit', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'S');
    new StrataLog(stack, 'Log', { functions: { append: { timeout: Duration.seconds(60) }, read: { timeout: Duration.seconds(15) } } });
    const warnings = Annotations.fromStack(stack)
      .findWarning('*', Match.anyValue())
      .map((w) => String(w.entry.data));
    expect(warnings.some((w) => /append function's timeout \(60 s\) is longer than API Gateway waits/.test(w))).toBe(true);
    expect(warnings.some((w) => /read function's timeout \(15 s\) is not longer than the longest long-poll/.test(w))).toBe(true);
  });

  it('do not warn with the defaults', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'S');
    new StrataLog(stack, 'Log');
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('timeout'))).toEqual([]);
  });
});

describe('StrataLog sequencing', () => {
  it('reaches the append function as STRATA_SEQUENCING, write-first by default', () => {
    for (const [props, expected] of [
      [{}, 'write-first'],
      [{ sequencing: 'reserve' as const }, 'reserve'],
      [{ sequencing: 'optimistic' as const }, 'optimistic'],
      [{ sequencing: 'write-first' as const }, 'write-first'],
    ] as const) {
      const { stack, template } = synthStrata({ log: props });
      const fns = resources(template, 'AWS::Lambda::Function');
      const append = fns[stack.getLogicalId(stack.log.functions.append.node.defaultChild as never)]!;
      expect(append.Properties.Environment.Variables.STRATA_SEQUENCING).toBe(expected);
    }
  });
});

describe('StrataLog tailTtl', () => {
  const env = (props: NonNullable<Parameters<typeof synthStrata>[0]>['log']) => {
    const { stack, template } = synthStrata({ log: props });
    const fns = resources(template, 'AWS::Lambda::Function');
    const vars = (fn: 'append' | 'read' | 'compact') =>
      fns[stack.getLogicalId(stack.log.functions[fn].node.defaultChild as never)]!.Properties.Environment.Variables;
    return { append: vars('append'), read: vars('read'), compact: vars('compact'), template };
  };

  it('reaches the append and compact functions as STRATA_TAIL_TTL_MS, a day by default', () => {
    const defaults = env({});
    expect(defaults.append.STRATA_TAIL_TTL_MS).toBe(String(24 * 3600 * 1000));
    expect(defaults.compact.STRATA_TAIL_TTL_MS).toBe(String(24 * 3600 * 1000));
    expect(defaults.read.STRATA_TAIL_TTL_MS).toBeUndefined();
    expect(env({ tailTtl: Duration.hours(6) }).append.STRATA_TAIL_TTL_MS).toBe(String(6 * 3600 * 1000));
  });

  it("alarms on flush lag at an hour by default, on the compact function's FlushLag maximum", () => {
    const { template } = env({});
    const alarms = Object.entries(resources(template, 'AWS::CloudWatch::Alarm')).filter(([id]) => id.includes('FlushLag'));
    expect(alarms).toHaveLength(1);
    expect(alarms[0]![1].Properties).toMatchObject({ MetricName: 'FlushLag', Statistic: 'Maximum', Threshold: 3_600_000 });
  });

  it('fails the synth when the TTL is under an hour or not above twice the flush-lag alarm', () => {
    const stack = () => new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'S');
    expect(() => new StrataLog(stack(), 'Log', { tailTtl: Duration.minutes(30) })).toThrow(/tailTtl must be at least 1 hour/);
    expect(() => new StrataLog(stack(), 'Log', { tailTtl: Duration.hours(2), alarms: { flushLagAfter: Duration.hours(1) } })).toThrow(
      /must be more than twice alarms.flushLagAfter/,
    );
    expect(
      () => new StrataLog(stack(), 'Log', { tailTtl: Duration.hours(2), alarms: { flushLagAfter: Duration.minutes(30) } }),
    ).not.toThrow();
  });
});

describe('StrataLog topicDefaults', () => {
  it('reach the append function as STRATA_TOPIC_DEFAULTS', () => {
    const { stack, template } = synthStrata({ log: { topicDefaults: { retentionMs: 86_400_000, compression: 'gzip' } } });
    const fns = resources(template, 'AWS::Lambda::Function');
    const append = fns[stack.getLogicalId(stack.log.functions.append.node.defaultChild as never)]!;
    expect(JSON.parse(append.Properties.Environment.Variables.STRATA_TOPIC_DEFAULTS)).toEqual({
      retentionMs: 86_400_000,
      compression: 'gzip',
    });
    const read = fns[stack.getLogicalId(stack.log.functions.read.node.defaultChild as never)]!;
    expect(read.Properties.Environment.Variables.STRATA_TOPIC_DEFAULTS).toBeUndefined();
  });

  it('fail the synth when a setting is not valid', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'S');
    expect(() => new StrataLog(stack, 'Log', { topicDefaults: { retentionMs: -5 } })).toThrow(/topicDefaults are not valid.*retentionMs/);
  });
});

describe('the app context', () => {
  it('reads removalPolicy and alarmEmail, and rejects an unknown removal policy', () => {
    const app = new App({ context: { removalPolicy: 'destroy', alarmEmail: 'a@b.c' } });
    expect(stackPropsFromContext(app)).toMatchObject({ alarmEmail: 'a@b.c', log: { removalPolicy: RemovalPolicy.DESTROY } });
    expect(stackPropsFromContext(new App()).log?.removalPolicy).toBe(RemovalPolicy.RETAIN);
    expect(() => stackPropsFromContext(new App({ context: { removalPolicy: 'keep' } }))).toThrow(/retain' or 'destroy'/);
  });
});

describe('the dashboard', () => {
  /** Every metric name the functions emit: `addMetric('Name'` and the `Status${n}xx` family. */
  function emittedMetricNames(): Set<string> {
    const names = new Set<string>();
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const file = join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (file.endsWith('.ts')) {
          const source = readFileSync(file, 'utf8');
          for (const m of source.matchAll(/addMetric\(\s*'([A-Za-z0-9]+)'/g)) names.add(m[1]!);
          if (/addMetric\(\s*`Status\$\{/.test(source)) for (const c of [2, 3, 4, 5]) names.add(`Status${c}xx`);
          // TopicMetrics.publish emits the names of TOPIC_METRICS (test/functions/observability.test.ts checks it does).
          if (/this\.metrics\.addMetric\(name, TOPIC_METRIC_UNITS\[name\]/.test(source))
            for (const name of Object.values(TOPIC_METRICS)) names.add(name);
        }
      }
    };
    walk(join(PROJECT_ROOT, 'functions'));
    walk(join(PROJECT_ROOT, 'lib'));
    return names;
  }

  it('graphs only metric names that the functions emit', () => {
    const emitted = emittedMetricNames();
    for (const name of Object.values(EMF_METRICS).flat()) expect(emitted.has(name), `${name} is not emitted by any function`).toBe(true);
  });
});

describe('StrataLog endpoints', () => {
  const fnResource = (stack: ReturnType<typeof synthStrata>['stack'], template: Template, fn: 'append' | 'read') =>
    resources(template, 'AWS::Lambda::Function')[stack.getLogicalId(stack.log.functions[fn].node.defaultChild as never)]!;
  const outputs = (template: Template) => Object.keys(template.toJSON().Outputs as Record<string, unknown>);

  it('default to API Gateway alone: no function URL, the buffered read entry, the ApiUrl output', () => {
    const { stack, template } = synthStrata();
    template.resourceCountIs('AWS::Lambda::Url', 0);
    template.resourcePropertiesCountIs('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' }, 1);
    expect(fnResource(stack, template, 'read').Properties).toMatchObject({ Handler: 'index.handler', Timeout: 29 });
    expect(outputs(template)).toEqual(expect.arrayContaining(['ApiUrl', 'ApiInvokeArn']));
    expect(outputs(template)).not.toContain('ReadUrl');
    expect(stack.log.functionUrls).toBeUndefined();
    expect(() => stack.log.grantInvokeUrl(new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() }))).toThrow(
      /no function URLs/,
    );
  });

  it("with 'function-urls': IAM URLs for append (buffered) and read (streamed, the streaming entry), no API, URL outputs, cdk-nag clean", () => {
    const { app, stack, template } = synthStrata({ log: { endpoints: 'function-urls' } });
    template.resourcePropertiesCountIs('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' }, 0);
    // The push endpoint stays: its WebSocket API is not the HTTP API.
    template.resourcePropertiesCountIs('AWS::ApiGatewayV2::Api', { ProtocolType: 'WEBSOCKET' }, 1);
    template.resourceCountIs('AWS::Lambda::Url', 2);
    const urls = Object.values(resources(template, 'AWS::Lambda::Url')).map((u) => u.Properties);
    const target = (fn: 'append' | 'read') => ({
      'Fn::GetAtt': [stack.getLogicalId(stack.log.functions[fn].node.defaultChild as never), 'Arn'],
    });
    expect(urls).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ AuthType: 'AWS_IAM', InvokeMode: 'BUFFERED', TargetFunctionArn: target('append') }),
        expect.objectContaining({ AuthType: 'AWS_IAM', InvokeMode: 'RESPONSE_STREAM', TargetFunctionArn: target('read') }),
      ]),
    );
    for (const url of urls) expect(url.Cors).toBeUndefined();
    template.resourceCountIs('AWS::Lambda::Url', 2);
    expect(fnResource(stack, template, 'read').Properties).toMatchObject({ Handler: 'index.streamingHandler', Timeout: 120 });
    expect(fnResource(stack, template, 'append').Properties).toMatchObject({ Handler: 'index.handler', Timeout: 29 });
    expect(outputs(template)).toEqual(expect.arrayContaining(['AppendUrl', 'ReadUrl']));
    expect(outputs(template)).not.toContain('ApiUrl');
    template.hasOutput('ReadUrl', { Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('ReadFunctionFunctionUrl'), 'FunctionUrl'] } });
    // 5xx behind the URLs are alarmed from the functions' UnexpectedErrors (not Url5xxCount, which counts 503 RETRY).
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'UnexpectedErrors' }) }) }),
      ]),
    });
    expect(() => stack.log.apiRoutesArn()).toThrow(/grantInvokeUrl/);
    expect(unacknowledgedFindings(app)).toEqual([]);
  });

  it("with 'both': the API and the URLs, API Gateway's 29 s timeouts kept", () => {
    const { stack, template } = synthStrata({ log: { endpoints: 'both' } });
    template.resourcePropertiesCountIs('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' }, 1);
    template.resourceCountIs('AWS::Lambda::Url', 2);
    expect(fnResource(stack, template, 'read').Properties).toMatchObject({ Handler: 'index.streamingHandler', Timeout: 29 });
    expect(outputs(template)).toEqual(expect.arrayContaining(['ApiUrl', 'AppendUrl', 'ReadUrl']));
  });

  it('grantInvokeUrl allows InvokeFunctionUrl (AWS_IAM URLs only) and InvokeFunction (through a URL only) on append and read, not compact', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'S');
    const log = new StrataLog(stack, 'Log', { endpoints: 'function-urls' });
    const caller = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
    log.grantInvokeUrl(caller);
    const arn = (fn: 'append' | 'read' | 'compact') => ({
      'Fn::GetAtt': [stack.getLogicalId(log.functions[fn].node.defaultChild as never), 'Arn'],
    });
    const [policy] = Object.values(resources(Template.fromStack(stack), 'AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes(stack.getLogicalId(caller.node.defaultChild as never)),
    );
    const statements = policy!.Properties.PolicyDocument.Statement as { Action: string; Resource: unknown; Condition: unknown }[];
    for (const fn of ['append', 'read'] as const) {
      expect(statements).toContainEqual(
        expect.objectContaining({
          Action: 'lambda:InvokeFunctionUrl',
          Resource: arn(fn),
          Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } },
        }),
      );
      expect(statements).toContainEqual(
        expect.objectContaining({
          Action: 'lambda:InvokeFunction',
          Resource: arn(fn),
          Condition: { Bool: { 'lambda:InvokedViaFunctionUrl': true } },
        }),
      );
    }
    expect(JSON.stringify(statements)).not.toContain(JSON.stringify(arn('compact')));
  });

  it("warn about API Gateway's 30 s only when there is an API, and refuse more than 15 minutes", () => {
    const warnings = (endpoints: 'function-urls' | 'both') => {
      const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'S');
      new StrataLog(stack, 'Log', { endpoints, functions: { read: { timeout: Duration.minutes(10) } } });
      return Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('API Gateway waits'));
    };
    expect(warnings('function-urls')).toEqual([]);
    expect(warnings('both')).toHaveLength(1);
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'S');
    expect(
      () => new StrataLog(stack, 'Log', { endpoints: 'function-urls', functions: { read: { timeout: Duration.minutes(16) } } }),
    ).toThrow(/longer than Lambda allows/);
  });

  it('come from the app context, which rejects an unknown value', () => {
    expect(stackPropsFromContext(new App({ context: { endpoints: 'both' } })).log?.endpoints).toBe('both');
    expect(stackPropsFromContext(new App()).log?.endpoints).toBeUndefined();
    expect(() => stackPropsFromContext(new App({ context: { endpoints: 'urls' } }))).toThrow(/endpoints must be one of/);
  });
});

describe('StrataLog push', () => {
  const env = (stack: ReturnType<typeof synthStrata>['stack'], template: Template, fn: 'append' | 'read') =>
    resources(template, 'AWS::Lambda::Function')[stack.getLogicalId(stack.log.functions[fn].node.defaultChild as never)]!.Properties
      .Environment.Variables;

  it('is on by default: the WebSocket API, the push function, the PushUrl output', () => {
    const { stack, template } = synthStrata();
    template.resourcePropertiesCountIs('AWS::ApiGatewayV2::Api', { ProtocolType: 'WEBSOCKET' }, 1);
    expect(stack.log.pushFunction).toBeDefined();
    expect(Object.keys(template.toJSON().Outputs as Record<string, unknown>)).toContain('PushUrl');
  });

  it('push: false leaves it out: no WebSocket API, no push function, no push settings in the functions, no grantSubscribe', () => {
    const { stack, template } = synthStrata({ log: { push: false } });
    template.resourcePropertiesCountIs('AWS::ApiGatewayV2::Api', { ProtocolType: 'WEBSOCKET' }, 0);
    expect(stack.log.push).toBeUndefined();
    expect(env(stack, template, 'append').STRATA_PUSH_CALLBACK_URL).toBeUndefined();
    expect(env(stack, template, 'read').STRATA_PUSH_URL).toBeUndefined();
    expect(() => stack.log.grantSubscribe(new iam.Role(stack, 'Consumer', { assumedBy: new iam.AccountRootPrincipal() }))).toThrow(
      /no push endpoint/,
    );
  });

  it('comes from the app context (-c push=false), which rejects anything but true or false', () => {
    expect(stackPropsFromContext(new App({ context: { push: 'false' } })).log?.push).toBe(false);
    expect(stackPropsFromContext(new App({ context: { push: true } })).log?.push).toBe(true);
    expect(stackPropsFromContext(new App()).log?.push).toBeUndefined();
    expect(() => stackPropsFromContext(new App({ context: { push: 'no' } }))).toThrow(/push must be 'true' or 'false'/);
  });

  it('is off with auth jwt (WebSocket APIs have no JWT authorizer), and push: true there fails the synth', () => {
    const jwt = { type: 'jwt' as const, issuer: 'https://issuer.example.com', audience: ['strata'] };
    const { stack } = synthStrata({ log: { auth: jwt } });
    expect(stack.log.push).toBeUndefined();
    expect(() => synthStrata({ log: { auth: jwt, push: true } })).toThrow(/push needs IAM auth/);
  });
});
