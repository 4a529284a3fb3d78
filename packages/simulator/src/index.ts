export { createSimulator, Simulator } from './simulator.js';
export type { SimulatorCounts, SimulatorOptions, SimulatorSecond, SimulatorStats } from './simulator.js';
export { LatencyHistogram } from './latency-histogram.js';
export { RatePacer } from './rate-pacer.js';
export { pickRiderScript, pickTurnstile, turnstileIds } from './rider-script.js';
export type { RiderCommand, RiderMix } from './rider-script.js';
export { verifyTurnstiles } from './verify-turnstiles.js';
export type { TurnstileMismatch, TurnstileTotals, TurnstileVerification, VerifyTurnstilesOptions } from './verify-turnstiles.js';
