/**
 * Where the e2e suite runs, from the environment:
 *
 * | variable | meaning |
 * | --- | --- |
 * | `STRATA_E2E_URL` | base URL of the API (`ApiUrl` output of the stack, or `http://127.0.0.1:4510` for `npm start`); without it (or the two below) the suite skips itself |
 * | `STRATA_E2E_APPEND_URL`, `STRATA_E2E_READ_URL` | instead of `STRATA_E2E_URL`, a stack deployed with function URLs (`AppendUrl` and `ReadUrl` outputs): each request goes to its function's URL |
 * | `STRATA_E2E_AUTH` | `sigv4` or `none`; default `sigv4` for `https://` URLs, `none` for `http://` |
 * | `STRATA_E2E_REGION` | region to sign for; default: from an `execute-api` or `lambda-url` host name, else `AWS_REGION`, else `us-east-1` |
 * | `STRATA_E2E_PREFIX` | prefix of the topic and group names a run creates; default `e2e-{time}-` |
 *
 * SigV4 credentials come from the AWS default chain (`AWS_ACCESS_KEY_ID` /
 * `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, `AWS_PROFILE`, SSO, instance roles),
 * for service `execute-api` (API Gateway) or `lambda` (function URLs).
 */
export interface E2ETarget {
  /** The API's base URL; with function URLs, the read function's (where a path no route has goes). */
  url: string;
  /** The two function URLs, when the target is a stack deployed with them. */
  functionUrls: { appendUrl: string; readUrl: string } | undefined;
  auth: 'sigv4' | 'none';
  /** The SigV4 service: `lambda` for function URLs, else `execute-api`. */
  service: 'execute-api' | 'lambda';
  region: string;
  prefix: string;
  /** True when the target is API Gateway or function URLs on AWS, where unsigned requests must be refused. */
  enforcesIam: boolean;
}

export function readTarget(env: NodeJS.ProcessEnv = process.env): E2ETarget | undefined {
  const appendUrl = env.STRATA_E2E_APPEND_URL?.trim();
  const readUrl = env.STRATA_E2E_READ_URL?.trim();
  if (!appendUrl !== !readUrl)
    throw new Error(
      'STRATA_E2E_APPEND_URL and STRATA_E2E_READ_URL go together: the AppendUrl and ReadUrl outputs of a stack with function URLs',
    );
  const raw = readUrl ?? env.STRATA_E2E_URL?.trim();
  if (!raw) return undefined;
  const urls = appendUrl
    ? [checkUrl('STRATA_E2E_APPEND_URL', appendUrl), checkUrl('STRATA_E2E_READ_URL', raw)]
    : [checkUrl('STRATA_E2E_URL', raw)];
  const url = urls.at(-1)!;
  const auth = env.STRATA_E2E_AUTH?.trim() || (url.protocol === 'https:' ? 'sigv4' : 'none');
  if (auth !== 'sigv4' && auth !== 'none') throw new Error(`STRATA_E2E_AUTH must be 'sigv4' or 'none'; got '${auth}'`);
  const hostRegion = /\.(?:execute-api\.([a-z0-9-]+)\.amazonaws\.com|lambda-url\.([a-z0-9-]+)\.on\.aws)$/
    .exec(url.hostname)
    ?.slice(1)
    .find((r) => r !== undefined);
  const trim = (u: string) => u.replace(/\/+$/, '');
  return {
    url: trim(raw),
    functionUrls: appendUrl ? { appendUrl: trim(appendUrl), readUrl: trim(raw) } : undefined,
    auth,
    service: appendUrl || url.hostname.includes('.lambda-url.') ? 'lambda' : 'execute-api',
    region: env.STRATA_E2E_REGION?.trim() || hostRegion || env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    prefix: env.STRATA_E2E_PREFIX?.trim() || `e2e-${Date.now().toString(36)}-`,
    enforcesIam: auth === 'sigv4' && hostRegion !== undefined,
  };
}

function checkUrl(name: string, raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`${name} is '${raw}', not a URL; use the stack's outputs or http://127.0.0.1:4510`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${name} must be http(s); got '${raw}'`);
  return url;
}
