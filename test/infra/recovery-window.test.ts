/**
 * The recovery window (docs/operations.md, "Restore"): one prop sets the table's
 * point-in-time recovery period and how long the compact function keeps what leaves the
 * log, so a restore never references a deleted object. Synthesized without bundling.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { readEnv } from '../../functions/shared/env.js';
import { StrataLog } from '../../infra/strata-log.js';
import { stackPropsFromContext } from '../../infra/strata-stack.js';
import { DEFAULT_RECOVERY_WINDOW_MS, STAGED_OBJECT_EXPIRY_DAYS } from '../../lib/core/constants.js';
import { objectGraceMs } from '../../lib/maintenance/maintenance.js';
import { removeSynthesized, synthStrata } from './synth.js';

afterAll(removeSynthesized);

const DAY_MS = 86_400_000;

/** The compact function's environment variables in the template. */
function compactEnv(template: Template): Record<string, string> {
  const functions = template.findResources('AWS::Lambda::Function') as Record<
    string,
    { Properties: { Handler?: string; Environment?: { Variables?: Record<string, string> } } }
  >;
  const compact = Object.entries(functions).find(([id]) => /Compact/.test(id) && !/Custom|Provider/.test(id));
  return compact![1].Properties.Environment?.Variables ?? {};
}

describe('recoveryWindow', () => {
  it('defaults to a day of point-in-time recovery and a day plus 20 minutes of grace for what leaves the log', () => {
    const { template } = synthStrata();
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: DEFAULT_RECOVERY_WINDOW_MS / DAY_MS },
    });
    expect(compactEnv(template).STRATA_RECOVERY_WINDOW_MS).toBe(String(DEFAULT_RECOVERY_WINDOW_MS));
  });

  it("sets the PITR period, the compact function's grace and the staging tier's expiry from one prop", () => {
    const { template } = synthStrata({ log: { recoveryWindow: Duration.days(7), stagingAvailabilityZoneId: 'use1-az4' } });
    template.hasResourceProperties('AWS::DynamoDB::Table', { PointInTimeRecoverySpecification: { RecoveryPeriodInDays: 7 } });
    const env = compactEnv(template);
    expect(env.STRATA_RECOVERY_WINDOW_MS).toBe(String(7 * DAY_MS));
    // What the compact function does with it: keep objects the window and the readers' 20 minutes.
    const { recoveryWindowMs } = readEnv({
      STRATA_TABLE_NAME: 't',
      STRATA_BUCKET_NAME: 'b',
      STRATA_RECOVERY_WINDOW_MS: env.STRATA_RECOVERY_WINDOW_MS,
    });
    expect(objectGraceMs(recoveryWindowMs!)).toBe(7 * DAY_MS + 20 * 60_000);
    template.hasResourceProperties('AWS::S3Express::DirectoryBucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ Prefix: 'topics/', ExpirationInDays: STAGED_OBJECT_EXPIRY_DAYS + 7 })]),
      },
    });
  });

  it('is read from the app context as recoveryWindowDays (npx cdk deploy -c recoveryWindowDays=7)', () => {
    expect(stackPropsFromContext(new App({ context: { recoveryWindowDays: '7' } })).log?.recoveryWindow?.toDays()).toBe(7);
    expect(stackPropsFromContext(new App()).log?.recoveryWindow).toBeUndefined();
    expect(() => stackPropsFromContext(new App({ context: { recoveryWindowDays: '1.5' } }))).toThrow(/whole number of days/);
  });

  it.each([Duration.hours(12), Duration.days(36), Duration.hours(36)])('refuses %s: PITR keeps whole days, 1 to 35', (window) => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'S');
    expect(() => new StrataLog(stack, 'Log', { recoveryWindow: window })).toThrow(/whole number of days from 1 to 35/);
  });
});
