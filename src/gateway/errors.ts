// Typed errors of the gateway adapters, for the problems that are neither a decline nor transport
// trouble on a charge (those are outcomes, never exceptions). The code matches a problem type of
// src/http/problem.ts where there is one.
export type GatewayErrorCode =
  /** The gateway could not be reached or answered 5xx (customer creation, card attach, lookup). */
  | 'gateway_unavailable'
  /** The same idempotency key was sent with other parameters (a bug in the caller). */
  | 'idempotency_key_reused'
  /** The API key was refused (configuration). */
  | 'gateway_authentication'
  /** The gateway refused the request as malformed (a bug in the caller or an unsupported setup). */
  | 'gateway_invalid_request';

export class GatewayError extends Error {
  readonly code: GatewayErrorCode;
  /** HTTP status from the gateway, when there was an answer. */
  readonly status: number | null;
  constructor(
    message: string,
    code: GatewayErrorCode,
    /** HTTP status from the gateway, when there was an answer. */
    status: number | null = null,
  ) {
    super(message);
    this.code = code;
    this.status = status;
    this.name = 'GatewayError';
  }
}
