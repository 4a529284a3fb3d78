/** A turnstile command the riders send. */
export type RiderCommand = 'install' | 'insertCoin' | 'pushArm';

/** How likely each kind of rider is; weights, normalised. */
export interface RiderMix {
  /** Inserts a coin, then pushes through. Default 0.75. */
  readonly payAndPass?: number;
  /** Pushes without paying (ineffective on a locked turnstile). Default 0.12. */
  readonly sneak?: number;
  /** Pays twice before pushing. Default 0.08. */
  readonly payTwice?: number;
  /** Pays, hesitates, pushes twice (the second push meets a locked arm). Default 0.05. */
  readonly pushTwice?: number;
}

type Script = readonly [keyof RiderMix, readonly RiderCommand[], number];

/** The kinds of rider, the first the fallback. */
const SCRIPTS: readonly [Script, ...Script[]] = [
  ['payAndPass', ['insertCoin', 'pushArm'], 0.75],
  ['sneak', ['pushArm'], 0.12],
  ['payTwice', ['insertCoin', 'insertCoin', 'pushArm'], 0.08],
  ['pushTwice', ['insertCoin', 'pushArm', 'pushArm'], 0.05],
];

/** Pick one rider's commands by the mix, with `random` in [0, 1). */
export function pickRiderScript(random: number, mix: RiderMix = {}): readonly RiderCommand[] {
  const weights = SCRIPTS.map(([key, , fallback]) => Math.max(0, mix[key] ?? fallback));
  const total = weights.reduce((a, b) => a + b, 0);
  let x = random * total;
  for (const [key, commands, fallback] of SCRIPTS) {
    x -= Math.max(0, mix[key] ?? fallback);
    if (x < 0) return commands;
  }
  return SCRIPTS[0][1];
}

/**
 * Pick a turnstile index in [0, count): with probability `skew` one of the first `hot` turnstiles
 * (a busy station), else any turnstile uniformly. `a` and `b` are independent randoms in [0, 1).
 */
export function pickTurnstile(a: number, b: number, count: number, skew: number, hot: number): number {
  const hotCount = Math.max(1, Math.min(hot, count));
  return a < skew ? Math.floor(b * hotCount) : Math.floor(b * count);
}

/** Turnstile ids `t-0000`…, zero-padded so they sort in order. */
export function turnstileIds(count: number, prefix = 't-'): string[] {
  const width = Math.max(4, String(Math.max(count - 1, 0)).length);
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(width, '0')}`);
}
