// What a command refuses (in the engine, notify or anywhere below http), as a kind the caller can act on: the engine says *what* went wrong
// (`kind` for the family, `code` for the stable problem type, `fields` for form errors), and only
// the edges decide how to show it (src/http/problem.ts maps a kind to an HTTP status; the pages
// show the message beside the field).

export const ERROR_KINDS = ['invalid', 'forbidden', 'not_found', 'conflict', 'rate_limited', 'payment_failed', 'unavailable'] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** A field the caller sent that is not acceptable, e.g. `{ field: 'retry_schedule', message: 'must rise' }`. */
export interface FieldError {
  field: string;
  message: string;
}

/** An error meant for the caller, with a stable code; the HTTP layer turns it into problem+json. */
export class CommandError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly extra: Record<string, unknown>;
  constructor(kind: ErrorKind, code: string, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.kind = kind;
    this.code = code;
    this.extra = extra;
  }

  /** Field errors carried in `extra.errors`, if any. */
  get fields(): FieldError[] {
    return Array.isArray(this.extra.errors) ? (this.extra.errors as FieldError[]) : [];
  }
}

/** The usual refusal of bad input: one problem code, one error per field. */
export function invalidFields(code: string, message: string, errors: FieldError[]): CommandError {
  return new CommandError('invalid', code, message, { errors });
}
