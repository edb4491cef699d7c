/**
 * Concurrency and cost guards, and observability, as synthesized (issue 16, items 4 and
 * 5): the near-limit alarms and their thresholds, the 5xx alarm that leaves out 503
 * RETRY, the reservation check, X-Ray tracing on the functions, the per-topic
 * dashboard, and the switch for per-topic metrics.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_IDS } from '../../infra/function-bundling.js';
import { acknowledgements, removeSynthesized, type Synthesized, synthStrata, unacknowledgedFindings } from './synth.js';

type Resource = { Properties: Record<string, any> };

let synth: Synthesized;
let template: Template;
beforeAll(() => {
  synth = synthStrata();
  template = synth.template;
});
afterAll(removeSynthesized);

function alarm(t: Template, name: string): Record<string, any> {
  const found = Object.entries(t.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>).filter(([id]) =>
    id.startsWith(`LogMonitoring${name}`),
  );
  expect(found, name).toHaveLength(1);
  return found[0]![1].Properties;
}

function metricNamesOf(properties: Record<string, any>): string[] {
  if (properties.MetricName) return [properties.MetricName];
  return (properties.Metrics as any[]).flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric.MetricName] : []));
}

function fn(s: Synthesized, id: 'append' | 'read' | 'compact'): Record<string, any> {
  const logicalId = s.stack.getLogicalId(s.stack.log.functions[id].node.defaultChild as never);
  return (s.template.findResources('AWS::Lambda::Function') as Record<string, Resource>)[logicalId]!.Properties;
}

describe('the 5xx alarm', () => {
  it("counts the functions' UnexpectedErrors (5xx but 503 RETRY), not API Gateway's 5XXError", () => {
    const serverErrors = alarm(template, 'ServerErrors');
    expect(metricNamesOf(serverErrors).sort()).toEqual(['UnexpectedErrors', 'UnexpectedErrors']);
    const services = (serverErrors.Metrics as any[]).flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric.Dimensions] : []));
    expect(services).toEqual(expect.arrayContaining([[{ Name: 'service', Value: 'append' }], [{ Name: 'service', Value: 'read' }]]));
    expect(serverErrors.Threshold).toBe(5);
    for (const props of Object.values(template.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>)) {
      expect(metricNamesOf(props.Properties)).not.toContain('5xx');
      expect(metricNamesOf(props.Properties)).not.toContain('Url5xxCount');
    }
  });
});

describe('concurrency and cost guards', () => {
  it('alarm when the claimed account concurrency passes 80% of the quota (1000 unless told)', () => {
    expect(alarm(template, 'AccountConcurrency')).toMatchObject({
      MetricName: 'ClaimedAccountConcurrency',
      Namespace: 'AWS/Lambda',
      Statistic: 'Maximum',
      Threshold: 800,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 3,
    });
    const { template: small } = synthStrata({ log: { accountConcurrency: 400, alarms: { concurrencyNearLimit: 0.5 } } });
    expect(alarm(small, 'AccountConcurrency').Threshold).toBe(200);
  });

  it("alarm when a function's p99 duration passes 80% of its timeout", () => {
    expect(alarm(template, 'AppendDurationNearTimeout')).toMatchObject({
      MetricName: 'Duration',
      ExtendedStatistic: 'p99',
      Threshold: 23_200,
    });
    expect(alarm(template, 'ReadDurationNearTimeout').Threshold).toBe(23_200);
    expect(alarm(template, 'CompactDurationNearTimeout').Threshold).toBe(240_000);
  });

  it('alarm on dropped asynchronous compact events and on events waiting half their maximum age', () => {
    expect(alarm(template, 'CompactEventsDropped')).toMatchObject({ MetricName: 'AsyncEventsDropped', Threshold: 1 });
    expect(alarm(template, 'CompactEventAge')).toMatchObject({ MetricName: 'AsyncEventAge', Statistic: 'Maximum', Threshold: 30 * 60_000 });
  });

  it('alarm near a reserved concurrency only where one is set', () => {
    expect(Object.keys(template.findResources('AWS::CloudWatch::Alarm')).filter((id) => id.includes('ConcurrencyNearReserved'))).toEqual(
      [],
    );
    const capped = synthStrata({ log: { functions: { read: { reservedConcurrency: 100 }, compact: { reservedConcurrency: 20 } } } });
    expect(fn(capped, 'read').ReservedConcurrentExecutions).toBe(100);
    expect(alarm(capped.template, 'ReadConcurrencyNearReserved')).toMatchObject({ MetricName: 'ConcurrentExecutions', Threshold: 80 });
    expect(alarm(capped.template, 'CompactConcurrencyNearReserved').Threshold).toBe(16);
    expect(
      Object.keys(capped.template.findResources('AWS::CloudWatch::Alarm')).some((id) => id.includes('AppendConcurrencyNearReserved')),
    ).toBe(false);
  });

  it('refuse at synth reservations that leave less than 100 of the account unreserved, which Lambda would refuse at deploy', () => {
    expect(() => synthStrata({ log: { functions: { append: { reservedConcurrency: 600 }, read: { reservedConcurrency: 350 } } } })).toThrow(
      /reserved concurrency 950 \(append 600, read 350\) leaves less than 100 of accountConcurrency 1000/,
    );
    expect(() =>
      synthStrata({
        log: { accountConcurrency: 2000, functions: { append: { reservedConcurrency: 600 }, read: { reservedConcurrency: 350 } } },
      }),
    ).not.toThrow();
  });

  it("keep the existing flush-lag alarm on the compact function's FlushLag maximum", () => {
    expect(alarm(template, 'FlushLag')).toMatchObject({
      MetricName: 'FlushLag',
      Namespace: 'Strata',
      Statistic: 'Maximum',
      Threshold: 3_600_000,
    });
  });
});

describe('observability', () => {
  it('traces every function with X-Ray (active) and names its service for the tracer', () => {
    for (const id of FUNCTION_IDS) {
      const props = fn(synth, id);
      expect(props.TracingConfig, id).toEqual({ Mode: 'Active' });
      expect(props.Environment.Variables.POWERTOOLS_SERVICE_NAME, id).toBe(id);
      expect(props.Environment.Variables.STRATA_TOPIC_METRICS, id).toBeUndefined();
    }
  });

  it('graphs per-topic appends, reads and consumer lag, concurrency, durations and async events on the dashboard', () => {
    const body = JSON.stringify(
      Object.values(template.findResources('AWS::CloudWatch::Dashboard') as Record<string, Resource>)[0]!.Properties.DashboardBody,
    );
    for (const metric of ['TopicAppendedRecords', 'TopicAppendedBytes', 'TopicReadRecords', 'TopicReadBytes', 'TopicConsumerLag']) {
      expect(body).toContain(`{Strata,service,topic} MetricName=\\\\\\"${metric}\\\\\\"`);
    }
    for (const metric of [
      'ClaimedAccountConcurrency',
      'ConcurrentExecutions',
      'AsyncEventsDropped',
      'AsyncEventAge',
      'UnexpectedErrors',
      'FlushLag',
      'CompactionSegments',
    ]) {
      expect(body).toContain(metric);
    }
  });

  it("turns tracing off with tracing: false, acknowledging cdk-nag's Serverless-LambdaTracing instead of the X-Ray IAM5", () => {
    const off = synthStrata({ log: { tracing: false } });
    for (const id of FUNCTION_IDS) {
      expect(fn(off, id).TracingConfig, id).toBeUndefined();
      expect(fn(off, id).Environment.Variables.POWERTOOLS_TRACE_ENABLED, id).toBe('false');
    }
    const statements = Object.values(off.template.findResources('AWS::IAM::Policy') as Record<string, Resource>).flatMap(
      (p) => p.Properties.PolicyDocument.Statement,
    );
    expect(statements.filter((s: any) => [s.Action].flat().some((a: string) => a.startsWith('xray:')))).toEqual([]);
    expect(unacknowledgedFindings(off.app)).toEqual([]);
    const acked = acknowledgements(off.app).map((a) => a.rule.replace(/^Annotation::/, ''));
    expect(acked).toContain('Serverless-LambdaTracing');
    expect(acked).not.toContain('AwsSolutions-IAM5[Resource::*]');
  });

  it('turns per-topic metrics off in the functions with topicMetrics: false', () => {
    const off = synthStrata({ log: { topicMetrics: false } });
    for (const id of FUNCTION_IDS) expect(fn(off, id).Environment.Variables.STRATA_TOPIC_METRICS, id).toBe('false');
  });

  it('accepts the deprecated apiServerErrors as the 5xx threshold', () => {
    const { template: t } = synthStrata({ log: { alarms: { apiServerErrors: 2 } } });
    expect(alarm(t, 'ServerErrors').Threshold).toBe(2);
  });
});
