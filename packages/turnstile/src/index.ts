export { Turnstile, turnstileMachine, turnstileCommands, turnstileEvents } from './turnstile.js';
export type { TurnstileAggregate, TurnstileContext, TurnstileEvent } from './turnstile.js';
