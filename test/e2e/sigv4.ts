/**
 * A `fetch` that signs every request with SigV4 for API Gateway (`execute-api`), as the
 * IAM authorizer of the Strata API requires. Small on purpose: the e2e suite's own
 * signer; applications use the client library's.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';

type Credentials = ConstructorParameters<typeof SignatureV4>[0]['credentials'];

export function signedFetch(credentials: Credentials, region: string): typeof fetch {
  const signer = new SignatureV4({ service: 'execute-api', region, credentials, sha256: Sha256 });
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
    return fetch(url, { ...init, headers: signed.headers as Record<string, string> });
  };
}
