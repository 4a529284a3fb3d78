/** Thrown when no infrastructure can be had; the message says what to install or set. */
export class NoInfrastructureError extends Error {
  override readonly name = 'NoInfrastructureError';
}
