/**
 * docs/openapi.yaml against the code: every route of the route table and of the
 * handlers is documented and nothing else is; every error code the engine and the HTTP
 * edge can answer (the error table, lib/core/errors.ts ERROR_CODES) is documented with its
 * status, and nothing else is. A route or an error code added without documenting it
 * fails here.
 */
import { describe, expect, it } from 'vitest';
import { appendOperations } from '../../functions/append/handler.js';
import { readOperations } from '../../functions/read/handler.js';
import { ROUTES, routeKey } from '../../functions/shared/routes.js';
import { ERROR_CODES } from '../../lib/core/errors.js';
import { LogEngine } from '../../lib/engine.js';
import type { LogStore } from '../../lib/ports/log-store.js';
import { documentedOperations, loadOpenApi, METHODS, resolveRef } from '../support/openapi.js';

const doc = loadOpenApi();

/** `code → status` of every error the API can answer: the error table. */
function errorCodes(): Map<string, number> {
  return new Map(Object.entries(ERROR_CODES).map(([code, row]) => [code, row.status]));
}

describe('docs/openapi.yaml', () => {
  it('is OpenAPI 3.1', () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.info.title).toBeTruthy();
  });

  it('documents exactly the routes of the route table', () => {
    expect(documentedOperations(doc).sort()).toEqual(ROUTES.map(routeKey).sort());
  });

  it('documents exactly the operations the handlers serve', () => {
    const engine = new LogEngine({ store: {} as LogStore });
    const served = [...Object.keys(appendOperations(engine)), ...Object.keys(readOperations(engine))];
    expect(documentedOperations(doc).sort()).toEqual(served.sort());
  });

  it('documents every error code with its status, and no code that does not exist', () => {
    const source = Object.fromEntries([...errorCodes()].sort());
    const documented = Object.fromEntries(Object.entries(doc['x-strata-error-codes'] as Record<string, number>).sort());
    expect(documented).toEqual(source);
    expect([...doc.components.schemas.ErrorCode.enum].sort()).toEqual(Object.keys(source).sort());
  });

  it('declares every path parameter, has a success response and resolvable refs on every operation', () => {
    const refs: string[] = [];
    const collect = (node: unknown) => {
      if (Array.isArray(node)) node.forEach(collect);
      else if (node && typeof node === 'object') {
        for (const [k, v] of Object.entries(node)) {
          if (k === '$ref' && typeof v === 'string') refs.push(v);
          else collect(v);
        }
      }
    };
    collect(doc);
    for (const ref of refs) expect(() => resolveRef(doc, ref), ref).not.toThrow();

    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      const wanted = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      const params = ((item.parameters ?? []) as { $ref?: string; name?: string; in?: string }[]).map(
        (p) => (p.$ref ? resolveRef(doc, p.$ref) : p) as { name: string; in: string },
      );
      expect(
        params
          .filter((p) => p.in === 'path')
          .map((p) => p.name)
          .sort(),
        path,
      ).toEqual(wanted);
      for (const m of METHODS) {
        const op = item[m] as { responses?: Record<string, unknown>; operationId?: string } | undefined;
        if (!op) continue;
        expect(op.operationId, `${m} ${path}`).toBeTruthy();
        expect(
          Object.keys(op.responses ?? {}).some((s) => /^2\d\d$/.test(s)),
          `${m} ${path} has a 2xx response`,
        ).toBe(true);
      }
    }
  });
});
