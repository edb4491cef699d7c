/**
 * A `fetch` that signs every request with SigV4, for API Gateway (`execute-api`, as the
 * IAM authorizer of the Strata API requires) or for Lambda function URLs with AWS_IAM
 * auth (`lambda`). Small on purpose: the e2e suite's own signer; applications use the
 * client library's.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { matchRoute } from '../../functions/shared/routes.js';

type Credentials = ConstructorParameters<typeof SignatureV4>[0]['credentials'];

export function signedFetch(
  credentials: Credentials,
  region: string,
  service: 'execute-api' | 'lambda' = 'execute-api',
  next: typeof fetch = fetch,
): typeof fetch {
  const signer = new SignatureV4({ service, region, credentials, sha256: Sha256 });
  return async (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const body = typeof init.body === 'string' ? init.body : undefined;
    if (init.body !== undefined && body === undefined) throw new Error('signedFetch signs string bodies only');
    const query: Record<string, string | string[]> = {};
    for (const [key, value] of url.searchParams) {
      const existing = query[key];
      query[key] = existing === undefined ? value : [existing, value].flat();
    }
    const signed = await signer.sign({
      method: init.method ?? 'GET',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      // Encoded once here; the signer encodes it again, as SigV4 wants for every service but S3.
      path: url.pathname,
      query,
      headers: { host: url.host, ...Object.fromEntries(new Headers(init.headers).entries()) },
      ...(body !== undefined ? { body } : {}),
    });
    return next(url, { ...init, headers: signed.headers as Record<string, string> });
  };
}

/**
 * A `fetch` for a stack with function URLs: a request made to `readUrl` (the base URL
 * the suite is given) is sent to the URL of the function that serves its route
 * (functions/shared/routes.ts), as the client library routes. Paths no route has stay
 * with the read function. Wrap it in `signedFetch` so the signature names the real host.
 */
export function routedFetch(urls: { appendUrl: string; readUrl: string }, next: typeof fetch = fetch): typeof fetch {
  return (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const path = url.pathname.slice(new URL(urls.readUrl).pathname.replace(/\/+$/, '').length);
    const match = matchRoute(init.method ?? 'GET', path);
    if (match && 'route' in match && match.route.fn === 'append') {
      const append = new URL(urls.appendUrl);
      url.protocol = append.protocol;
      url.host = append.host;
    }
    return next(url, init);
  };
}
