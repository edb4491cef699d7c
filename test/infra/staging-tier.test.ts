/**
 * The construct's S3 Express One Zone staging tier (stagingAvailabilityZoneId): the
 * directory bucket, its lifecycle backstop, the functions' sessions and environment,
 * the topic defaults it brings, and cdk-nag. Synthesized without bundling (fast).
 */
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { StrataLog } from '../../infra/strata-log.js';
import * as constants from '../../lib/core/constants.js';
import { DEFAULT_RECOVERY_WINDOW_MS, EXPRESS_STAGE_BYTES, STAGED_OBJECT_EXPIRY_DAYS } from '../../lib/core/constants.js';
import { removeSynthesized, synthStrata, unacknowledgedFindings } from './synth.js';

afterAll(removeSynthesized);

type Resources = Record<string, { Properties: Record<string, any>; DeletionPolicy?: string }>;
const DAY_MS = 24 * 3600 * 1000;

function resources(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

/** Every statement of every IAM policy attached to the role of `fn`'s function. */
function statementsOf(template: Template, fn: string): { Action: string | string[]; Resource: unknown; Condition?: unknown }[] {
  const role = Object.keys(resources(template, 'AWS::IAM::Role')).find((id) =>
    id.includes(`${fn.charAt(0).toUpperCase()}${fn.slice(1)}Role`),
  )!;
  return Object.values(resources(template, 'AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(role))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

function envOf(template: Template, fn: string): Record<string, unknown> {
  const found = Object.values(resources(template, 'AWS::Lambda::Function')).find(
    (f) => f.Properties.Description === `Strata ${fn} function`,
  )!;
  return found.Properties.Environment.Variables;
}

describe('StrataLog stagingAvailabilityZoneId', () => {
  const tiered = synthStrata({ log: { stagingAvailabilityZoneId: 'use1-az4' } });

  it('creates a single-zone directory bucket named <prefix>--<azid>--x-s3 in that zone, retained by default like the segment bucket', () => {
    const [bucket, ...more] = Object.values(resources(tiered.template, 'AWS::S3Express::DirectoryBucket'));
    expect(more).toEqual([]);
    expect(bucket!.Properties).toMatchObject({ DataRedundancy: 'SingleAvailabilityZone', LocationName: 'use1-az4' });
    const name = JSON.stringify(bucket!.Properties.BucketName);
    expect(name).toMatch(/"strata-[0-9a-f]{8}-"/);
    expect(name).toContain('--use1-az4--x-s3');
    expect(bucket!.DeletionPolicy).toBe('Retain');
    expect(Object.values(resources(tiered.template, 'AWS::S3::Bucket'))[0]!.DeletionPolicy).toBe('Retain');
  });

  it("expires staged objects by lifecycle after STAGED_OBJECT_EXPIRY_DAYS plus the recovery window, at least three times the tail items' TTL", () => {
    const recoveryWindowDays = DEFAULT_RECOVERY_WINDOW_MS / DAY_MS;
    tiered.template.hasResourceProperties('AWS::S3Express::DirectoryBucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Status: 'Enabled', Prefix: 'topics/', ExpirationInDays: STAGED_OBJECT_EXPIRY_DAYS + recoveryWindowDays }),
        ]),
      },
    });
    // A staged object must outlive every tail item that may point at it unflushed.
    const tailTtlMs = (constants as Record<string, unknown>).DEFAULT_TAIL_TTL_MS as number | undefined;
    expect(STAGED_OBJECT_EXPIRY_DAYS * DAY_MS).toBeGreaterThanOrEqual(3 * (tailTtlMs ?? DAY_MS));
  });

  it('lets every function open sessions on the directory bucket only, and tells each where it is', () => {
    for (const fn of ['append', 'read', 'compact']) {
      const sessions = statementsOf(tiered.template, fn).filter((s) => JSON.stringify(s.Action).includes('s3express'));
      expect(sessions, fn).toHaveLength(1);
      expect(sessions[0]!.Action).toBe('s3express:CreateSession');
      expect(JSON.stringify(sessions[0]!.Resource)).toMatch(/Staging.*Arn/);
      expect(JSON.stringify(envOf(tiered.template, fn).STRATA_STAGING_BUCKET)).toContain('--use1-az4--x-s3');
    }
    expect(envOf(tiered.template, 'append').STRATA_STAGING_WRITES).toBeUndefined();
  });

  it('gives new topics stageBytes EXPRESS_STAGE_BYTES, unless topicDefaults names one', () => {
    expect(JSON.parse(envOf(tiered.template, 'append').STRATA_TOPIC_DEFAULTS as string)).toEqual({ stageBytes: EXPRESS_STAGE_BYTES });
    const own = synthStrata({
      log: { stagingAvailabilityZoneId: 'use1-az4', topicDefaults: { stageBytes: 64 * 1024, retentionMs: 3_600_000 } },
    });
    expect(JSON.parse(envOf(own.template, 'append').STRATA_TOPIC_DEFAULTS as string)).toEqual({
      stageBytes: 64 * 1024,
      retentionMs: 3_600_000,
    });
  });

  it('keeps cdk-nag clean', () => {
    expect(unacknowledgedFindings(tiered.app)).toEqual([]);
  });

  it('with stagingWrites false, drains: keeps the bucket and the sessions, stages new batches in the Standard bucket', () => {
    const draining = synthStrata({ log: { stagingAvailabilityZoneId: 'use1-az4', stagingWrites: false } });
    expect(Object.keys(resources(draining.template, 'AWS::S3Express::DirectoryBucket'))).toHaveLength(1);
    expect(envOf(draining.template, 'append')).toMatchObject({ STRATA_STAGING_WRITES: 'false' });
    expect(envOf(draining.template, 'append').STRATA_TOPIC_DEFAULTS).toBeUndefined();
    expect(JSON.stringify(envOf(draining.template, 'read').STRATA_STAGING_BUCKET)).toContain('--x-s3');
  });

  it('is off by default: no directory bucket, no s3express grant, no staging environment', () => {
    const plain = synthStrata();
    expect(resources(plain.template, 'AWS::S3Express::DirectoryBucket')).toEqual({});
    expect(JSON.stringify(resources(plain.template, 'AWS::IAM::Policy'))).not.toContain('s3express');
    for (const fn of ['append', 'read', 'compact']) expect(envOf(plain.template, fn).STRATA_STAGING_BUCKET).toBeUndefined();
  });

  it('follows removalPolicy DESTROY like the segment bucket', () => {
    const destroy = synthStrata({ log: { stagingAvailabilityZoneId: 'use1-az4', removalPolicy: RemovalPolicy.DESTROY } });
    expect(Object.values(resources(destroy.template, 'AWS::S3Express::DirectoryBucket'))[0]!.DeletionPolicy).toBe('Delete');
  });

  it('refuses a zone name where a zone id belongs', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'S');
    expect(() => new StrataLog(stack, 'Log', { stagingAvailabilityZoneId: 'us-east-1a' })).toThrow(
      /Availability Zone id such as 'use1-az4'/,
    );
  });
});
