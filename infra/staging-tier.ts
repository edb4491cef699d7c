/**
 * The S3 Express One Zone staging tier (docs/design.md, "The staging tier"): a directory
 * bucket in one Availability Zone that the functions stage large append batches in
 * (lib/staging/tier.ts), with a lifecycle rule that expires what the flushes and GC did not
 * delete, and the session grants the functions need.
 *
 * Directory buckets authorize every object call through a session: the SDK's S3Client
 * calls CreateSession on the bucket (action `s3express:CreateSession` on the bucket's
 * ARN) and signs the object calls with the session's credentials. A session is ReadWrite
 * or ReadOnly, but the SDK's session provider always asks for ReadWrite (the default
 * mode; @aws-sdk/middleware-sdk-s3 S3ExpressIdentityProviderImpl sends CreateSession
 * with the bucket only), so a ReadOnly condition on the read function would deny its
 * GETs: every function gets ReadWrite sessions. Object keys cannot narrow the grant
 * either (no per-key resources in a directory bucket's IAM), so it is the whole bucket,
 * which holds nothing but staged batches.
 *
 * @example
 * const tier = new StagingTier(this, 'Staging', { availabilityZoneId: 'use1-az4', removalPolicy });
 * tier.grantSessions(appendFunction);
 */
import { Fn, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3express from 'aws-cdk-lib/aws-s3express';
import { Construct } from 'constructs';
import { EXPRESS_STAGE_BYTES, STAGED_OBJECT_EXPIRY_DAYS } from '../lib/core/constants.js';
import type { TopicConfigPatch } from '../lib/topics/topic-config.js';
import { OBJECT_PREFIX } from './permissions.js';

/** What new topics get with the tier on (the props' topicDefaults win): batches above a few KiB staged. */
export const STAGING_TOPIC_DEFAULTS: TopicConfigPatch = Object.freeze({ stageBytes: EXPRESS_STAGE_BYTES });

/** An Availability Zone id (not name): `use1-az4`, `euw1-az1`, `apne1-az4`. */
const AZ_ID_PATTERN = /^[a-z]{2,4}\d{1,2}-az\d{1,2}$/;

export interface StagingTierProps {
  /**
   * The zone's id, the same in every account (`aws ec2 describe-availability-zones`
   * lists them: ZoneId). Put it where the functions run most (the tier is one zone: a
   * zone outage stops staged appends until it is back or the tier is turned off).
   */
  availabilityZoneId: string;
  removalPolicy: RemovalPolicy;
  /**
   * The table's recovery window in days (StrataLogProps.recoveryWindow): staged objects
   * expire that much later, so a table restored to before a flush still finds them.
   * @default 0
   */
  recoveryWindowDays?: number;
}

export class StagingTier extends Construct {
  readonly bucket: s3express.CfnDirectoryBucket;
  /** `strata-{id}-{account}--{azid}--x-s3`: what the functions get as STRATA_STAGING_BUCKET. */
  readonly bucketName: string;

  constructor(scope: Construct, id: string, props: StagingTierProps) {
    super(scope, id);
    if (!AZ_ID_PATTERN.test(props.availabilityZoneId)) {
      throw new Error(
        `stagingAvailabilityZoneId must be an Availability Zone id such as 'use1-az4' (ZoneId of aws ec2 describe-availability-zones), not a zone name such as 'us-east-1a'; got '${props.availabilityZoneId}'`,
      );
    }
    // Directory bucket names are unique within their zone, across accounts: the account
    // and this construct's address make them ours and distinct per StrataLog.
    this.bucketName = Fn.join('', [`strata-${this.node.addr.slice(0, 8)}-`, Stack.of(this).account, `--${props.availabilityZoneId}--x-s3`]);
    this.bucket = new s3express.CfnDirectoryBucket(this, 'Bucket', {
      bucketName: this.bucketName,
      dataRedundancy: 'SingleAvailabilityZone',
      locationName: props.availabilityZoneId,
      bucketEncryption: { serverSideEncryptionConfiguration: [{ serverSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }] },
      lifecycleConfiguration: {
        rules: [
          {
            // The backstop (STAGED_OBJECT_EXPIRY_DAYS, two weeks, fourteen times the tail
            // TTL): a staged object's item is flushed (and the object collected a grace
            // period later) long before. Plus the recovery window: a table restored to
            // before the flush points at the object again.
            id: 'expire-staged-batches',
            status: 'Enabled',
            prefix: OBJECT_PREFIX,
            expirationInDays: STAGED_OBJECT_EXPIRY_DAYS + (props.recoveryWindowDays ?? 0),
          },
          { id: 'abort-incomplete-multipart-uploads', status: 'Enabled', abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
        ],
      },
    });
    this.bucket.applyRemovalPolicy(props.removalPolicy);
  }

  /** Lets `grantee` open sessions on the bucket: the only action object calls on a directory bucket need. */
  grantSessions(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['s3express:CreateSession'], resourceArns: [this.bucket.attrArn] });
  }
}
