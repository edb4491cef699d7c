/**
 * Scoped grants on a StrataLog's endpoints: which routes of functions/shared/routes.ts
 * each grant allows, and the IAM statements that allow them.
 *
 * On API Gateway (IAM auth) a request is authorized as `execute-api:Invoke` on
 *
 *   arn:{partition}:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{path}
 *
 * so a grant can name methods and paths, and a topic or a group in them. IAM's `*`
 * matches any characters, `/` included: `GET /v1/topics/*` would allow every read of
 * every topic. Hence three rules here:
 *
 * - A partition number in a topic-scoped grant is matched by `?`, `??`, `???` and `????`
 *   (one to four characters: MAX_PARTITIONS is 1024), never `*`. The grant then allows
 *   that topic's partitions and nothing else, and has no `*` for cdk-nag IAM5 to flag in
 *   the caller's stack.
 * - Describing a topic (`GET /v1/topics/{topic}`: its partition count, which the client's
 *   Producer needs) is part of a topic-scoped append grant, but cannot be part of an
 *   all-topics one: `GET /v1/topics/*` is every read. Name the topics, or add grantRead.
 * - A member id (group heartbeats and leaves) is up to 128 characters and server-issued:
 *   matched by `*` within the named group's path.
 *
 * Function URLs are authorized per function (`lambda:InvokeFunctionUrl`), never per path.
 * A grant that names topics or groups therefore cannot be expressed on a URL: with
 * endpoints 'function-urls' it is refused (an error at synth, rather than a grant quietly
 * widened to every topic); with 'both' it is given on the API only, and the principal
 * must call the API. A grant for all topics is given on the URL of each function that
 * serves one of its routes, which also allows that function's other routes: the synth
 * warns when that is wider than the grant (grantAppend on the append function's URL also
 * allows topic deletion).
 */
import { Annotations, Stack, Token } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { type FunctionName, ROUTES, routeKey } from '../functions/shared/routes.js';
import { MAX_PARTITIONS, TOPIC_NAME_PATTERN } from '../lib/core/constants.js';
import { groupNameSchema } from '../lib/groups/offsets.js';

/** What a grant is for: the StrataLog methods grantAppend, grantRead, grantAdmin, grantConsumerGroup. */
export type StrataGrant = 'append' | 'read' | 'admin' | 'consumerGroup';

/**
 * The route keys each grant allows: `named` when the grant names topics (or groups),
 * `all` when it does not. A test checks that every route of functions/shared/routes.ts
 * is in some grant, so a new route cannot be left out of all of them.
 */
export const GRANT_ROUTES: Record<StrataGrant, { named?: readonly string[]; all: readonly string[] }> = {
  append: {
    named: [
      'POST /v1/topics/{topic}/records',
      'POST /v1/topics/{topic}/partitions/{partition}/records',
      // The Producer's partition count; not in `all`, where it would be every read.
      'GET /v1/topics/{topic}',
    ],
    all: ['POST /v1/topics/{topic}/records', 'POST /v1/topics/{topic}/partitions/{partition}/records'],
  },
  read: {
    named: [
      'GET /v1/topics/{topic}',
      'GET /v1/topics/{topic}/partitions/{partition}/records',
      'GET /v1/topics/{topic}/partitions/{partition}/offsets',
      // Where the push endpoint is: the consumer asks before it waits (connecting needs grantSubscribe).
      'GET /v1/push',
    ],
    // Every route of the read function: list and describe topics and groups, records, offsets.
    all: ROUTES.filter((r) => r.fn === 'read').map(routeKey),
  },
  // Topic management. Describing one topic is a read (see the module comment).
  admin: { all: ['POST /v1/topics', 'GET /v1/topics', 'PATCH /v1/topics/{topic}', 'DELETE /v1/topics/{topic}'] },
  // A consumer group's committed offsets and membership (join, heartbeat, leave, describe).
  consumerGroup: {
    named: ROUTES.filter((r) => r.path.startsWith('/v1/groups/')).map(routeKey),
    all: ROUTES.filter((r) => r.path.startsWith('/v1/groups/')).map(routeKey),
  },
};

/** The endpoints of a StrataLog a grant is given on. */
export interface GrantTarget {
  scope: IConstruct;
  api: apigwv2.IHttpApi | undefined;
  /** The API's stage, `$default`. */
  stageName: string;
  functions: Record<FunctionName, lambda.IFunction>;
  functionUrls: Record<FunctionName, lambda.IFunctionUrl> | undefined;
}

/** Topics or groups a grant names; undefined or `'*'`: all of them. */
export type GrantScope = string | readonly string[] | undefined;

/**
 * Gives `grantee` the routes of `grant` (GRANT_ROUTES) on the target's API and, where
 * the grant can be expressed per function, on its function URLs.
 */
export function grantRoutes(target: GrantTarget, grantee: iam.IGrantable, grant: StrataGrant, scope: GrantScope): iam.Grant {
  const names = scopeNames(grant, scope);
  const keys = names ? (GRANT_ROUTES[grant].named ?? GRANT_ROUTES[grant].all) : GRANT_ROUTES[grant].all;
  if (names && !target.api) {
    throw new Error(
      `StrataLog.${methodOf(grant)} for ${names.join(', ')}: function URLs cannot be scoped to a ${grant === 'consumerGroup' ? 'group' : 'topic'} ` +
        "(IAM authorizes a URL per function, not per path). Use endpoints 'api-gateway' or 'both' and call the API, or grant every " +
        `${grant === 'consumerGroup' ? 'group' : 'topic'} (omit the names).`,
    );
  }
  let result: iam.Grant | undefined;
  if (target.api) {
    result = iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: apiResourceArns(target, keys, grant, names),
    });
  }
  if (!names && target.functionUrls) {
    for (const fn of functionsServing(keys)) {
      const urlGrant = target.functions[fn].grantInvokeUrl(grantee);
      result = result ? result.combine(urlGrant) : urlGrant;
      const wider = ROUTES.filter((r) => r.fn === fn && !keys.includes(routeKey(r))).map(routeKey);
      if (wider.length > 0) {
        Annotations.of(target.scope).addWarningV2(
          `strata:url-grant-${grant}-${fn}`,
          `StrataLog.${methodOf(grant)} on the ${fn} function's URL also allows ${wider.join(', ')}: a function URL cannot be scoped ` +
            'to routes. Give the principal the API (endpoints api-gateway or both) for a narrower grant.',
        );
      }
    }
  }
  return result!;
}

/**
 * `{apiId}/{stage}/{METHOD}/{path}` ARNs of `keys`, path parameters filled in: the named
 * topics or groups (one ARN each), partitions by `?` patterns when topics are named,
 * `*` otherwise.
 */
export function apiResourceArns(
  target: GrantTarget,
  keys: readonly string[],
  grant: StrataGrant,
  names: readonly string[] | undefined,
): string[] {
  const stack = Stack.of(target.scope);
  const paths = new Set<string>();
  for (const key of keys) {
    const [method, path] = key.split(' ') as [string, string];
    for (const filled of fillPath(path, grant === 'consumerGroup' ? { group: names } : { topic: names })) paths.add(`${method}${filled}`);
  }
  return [...paths].map((p) =>
    stack.formatArn({ service: 'execute-api', resource: target.api!.apiId, resourceName: `${target.stageName}/${p}` }),
  );
}

/** One partition segment of 1 to 4 characters: every partition number below MAX_PARTITIONS, without `*`. */
export const PARTITION_PATTERNS: readonly string[] = Array.from({ length: String(MAX_PARTITIONS - 1).length }, (_, i) => '?'.repeat(i + 1));

function fillPath(path: string, names: { topic?: readonly string[] | undefined; group?: readonly string[] | undefined }): string[] {
  let paths = [''];
  for (const segment of path.split('/').slice(1)) {
    let values: readonly string[];
    switch (segment) {
      case '{topic}':
        values = names.topic ?? ['*'];
        break;
      case '{group}':
        values = names.group ?? ['*'];
        break;
      case '{partition}':
        values = names.topic ? PARTITION_PATTERNS : ['*'];
        break;
      case '{memberId}':
        values = ['*'];
        break;
      default:
        if (segment.startsWith('{')) throw new Error(`grants.ts does not know the path parameter ${segment}: add it to fillPath`);
        values = [segment];
    }
    paths = paths.flatMap((p) => values.map((v) => `${p}/${v}`));
  }
  return paths;
}

/** The functions serving the routes `keys`, in FunctionName order. */
function functionsServing(keys: readonly string[]): FunctionName[] {
  const fns = new Set(ROUTES.filter((r) => keys.includes(routeKey(r))).map((r) => r.fn));
  return (['append', 'read'] as const).filter((fn) => fns.has(fn));
}

/** The names a grant is scoped to, validated; undefined for all (omitted or `'*'`). */
function scopeNames(grant: StrataGrant, scope: GrantScope): readonly string[] | undefined {
  if (scope === undefined || scope === '*') return undefined;
  const names = typeof scope === 'string' ? [scope] : scope;
  if (names.length === 0) throw new Error(`StrataLog.${methodOf(grant)}: an empty list of names; omit it to grant all`);
  if (!GRANT_ROUTES[grant].named) throw new Error(`StrataLog.${methodOf(grant)} cannot be scoped to names`);
  for (const name of names) {
    if (Token.isUnresolved(name)) continue;
    if (grant === 'consumerGroup') {
      if (!groupNameSchema.safeParse(name).success) throw new Error(`StrataLog.grantConsumerGroup: '${name}' is not a valid group name`);
    } else if (!TOPIC_NAME_PATTERN.test(name) || name === '.' || name === '..') {
      throw new Error(
        `StrataLog.${methodOf(grant)}: '${name}' is not a valid topic name (1 to 249 of a-z, A-Z, 0-9, '.', '_', '-'; not '.' or '..')`,
      );
    }
  }
  return names;
}

function methodOf(grant: StrataGrant): string {
  return `grant${grant.charAt(0).toUpperCase()}${grant.slice(1)}`;
}
