/**
 * Turns zod's issues into one ValidationError whose message names each bad field and
 * says what is expected, so that a 400 tells the caller how to fix the request.
 */
import type { z } from 'zod';
import { ValidationError } from './errors.js';

/** Parses `input` with `schema` or throws a ValidationError naming every bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 10).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join('.') : what;
    return `${path}: ${issue.message}`;
  });
  return throwValidation(`invalid ${what}: ${problems.join('; ')}`, result.error.issues.length);
}

function throwValidation(message: string, issueCount: number): never {
  throw new ValidationError(message, { details: { issues: issueCount } });
}
