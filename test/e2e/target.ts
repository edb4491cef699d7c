/**
 * Where the e2e suite runs, from the environment:
 *
 * | variable | meaning |
 * | --- | --- |
 * | `STRATA_E2E_URL` | base URL of the API (`ApiUrl` output of the stack, or `http://127.0.0.1:4510` for `npm start`); without it the suite skips itself |
 * | `STRATA_E2E_AUTH` | `sigv4` or `none`; default `sigv4` for `https://` URLs, `none` for `http://` |
 * | `STRATA_E2E_REGION` | region to sign for; default: from an `execute-api` host name, else `AWS_REGION`, else `us-east-1` |
 * | `STRATA_E2E_PREFIX` | prefix of the topic and group names a run creates; default `e2e-{time}-` |
 *
 * SigV4 credentials come from the AWS default chain (`AWS_ACCESS_KEY_ID` /
 * `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, `AWS_PROFILE`, SSO, instance roles).
 */
export interface E2ETarget {
  url: string;
  auth: 'sigv4' | 'none';
  region: string;
  prefix: string;
  /** True when the target is API Gateway on AWS, where unsigned requests must be refused. */
  enforcesIam: boolean;
}

export function readTarget(env: NodeJS.ProcessEnv = process.env): E2ETarget | undefined {
  const raw = env.STRATA_E2E_URL?.trim();
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`STRATA_E2E_URL is '${raw}', not a URL; use the stack's ApiUrl output or http://127.0.0.1:4510`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`STRATA_E2E_URL must be http(s); got '${raw}'`);
  const auth = env.STRATA_E2E_AUTH?.trim() || (url.protocol === 'https:' ? 'sigv4' : 'none');
  if (auth !== 'sigv4' && auth !== 'none') throw new Error(`STRATA_E2E_AUTH must be 'sigv4' or 'none'; got '${auth}'`);
  const hostRegion = /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(url.hostname)?.[1];
  return {
    url: raw.replace(/\/+$/, ''),
    auth,
    region: env.STRATA_E2E_REGION?.trim() || hostRegion || env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    prefix: env.STRATA_E2E_PREFIX?.trim() || `e2e-${Date.now().toString(36)}-`,
    enforcesIam: auth === 'sigv4' && hostRegion !== undefined,
  };
}
