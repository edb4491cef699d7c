/**
 * Errors of the request itself and of the API's edge: a body or a parameter that breaks
 * a rule, a route or method the API does not serve, the wrong function's URL, a push
 * frame the protocol does not know. Import them from lib/core/errors.ts.
 */
import { StrataError, type StrataErrorOptions } from './strata-error.js';

/** Any operation: the request breaks a documented rule (shape, range, type). Fix the request. */
export class ValidationError extends StrataError {
  constructor(message: string, options: StrataErrorOptions = {}) {
    super('VALIDATION', message, options);
  }
}

/** Any operation with a body: the body is not JSON. */
export class InvalidJsonError extends StrataError {
  constructor(message: string) {
    super('INVALID_JSON', message);
  }
}

/** Read: a record's bytes are not UTF-8 and the caller asked for `encoding=utf8`. */
export class NotUtf8Error extends StrataError {
  constructor(
    readonly offset: number,
    field: 'key' | 'value' | 'header',
  ) {
    super('NOT_UTF8', `the ${field} of the record at offset ${offset} is not valid UTF-8; read with encoding=base64`, {
      details: { offset },
    });
  }
}

/** Unknown route or method. */
export class RouteNotFoundError extends StrataError {
  constructor(method: string, path: string) {
    super('ROUTE_NOT_FOUND', `no route for ${method} ${path}; see the API table in README.md`);
  }
}

/** A path the API has, with a method it does not serve there; `allowed` lists the methods it does. */
export class MethodNotAllowedError extends StrataError {
  constructor(
    method: string,
    path: string,
    readonly allowed: string[],
  ) {
    super('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}; use ${allowed.join(' or ')}`, { details: { allowed } });
  }
}

/**
 * A deployment with function URLs: the request went to the URL of the function that
 * does not serve its route (a read sent to the append function's URL, say).
 */
export class WrongFunctionError extends StrataError {
  constructor(
    routeKey: string,
    readonly functionName: string,
  ) {
    super('WRONG_FUNCTION', `${routeKey} is served by the ${functionName} function: send it to that function's URL`, {
      details: { function: functionName },
    });
  }
}

/** `GET /v1/push`: the deployment has no push endpoint (the construct's `push` prop is off). */
export class PushNotConfiguredError extends StrataError {
  constructor() {
    super(
      'PUSH_NOT_CONFIGURED',
      "this deployment has no push endpoint; consumers long-poll instead (the construct's push prop turns it on)",
    );
  }
}

/** Push endpoint: a WebSocket frame whose `action` is none of the push protocol's (docs/push.md). */
export class UnknownActionError extends StrataError {
  constructor(action: unknown, actions: readonly string[]) {
    super('UNKNOWN_ACTION', `a frame's action must be one of ${actions.join(', ')}; got ${JSON.stringify(action ?? null)} (docs/push.md)`);
  }
}

/** Request body larger than the API accepts (Lambda's 6 MB payload limit). */
export class PayloadTooLargeError extends StrataError {
  constructor(message: string) {
    super('PAYLOAD_TOO_LARGE', message);
  }
}
