import { requireEntry } from '@ratchet/core';

/** The checker's categories, each a guarantee of docs/guarantees.md seen from a recorded history. */
export const CheckCategory = {
  C1: 'versions 1..n per aggregate, no gap or duplicate, head = last event',
  C2: 'every ok command committed exactly once, at the version it was told',
  C3: 'rejected and failed commands wrote nothing',
  C4: 'unknown outcomes applied at most once',
  C5: 'no event from a command never sent',
  C6: 'JetStream holds every Postgres event',
  C7: 'read models equal the fold of the event store',
  C8: 'acknowledgement order is version order per aggregate',
  C9: 'no event written under a stale fencing epoch',
  C10: 'every definite answer that wrote nothing was true when it was given',
  C11: 'durable timers fired once when due, never early, never after their state was left',
  C12: "process commands committed at most once, every subscribed event's commands answered",
} as const;

/** One of `C1` … `C12`. */
export type CheckCategory = keyof typeof CheckCategory;

/** Every category, in order. */
export const CHECK_CATEGORIES = Object.keys(CheckCategory) as CheckCategory[];

/** How many items a category checked and how many broke it; `skipped` when it could not run (no NATS URL, no read-model check). */
export interface CategoryCount {
  readonly checked: number;
  readonly violations: number;
  readonly skipped?: boolean;
}

/** One broken guarantee, in words a person can act on. */
export interface Violation {
  readonly category: CheckCategory;
  readonly detail: string;
}

/** Counts per category and the violations found (details capped per category; counts are exact). */
export interface CheckReport {
  readonly counts: Record<CheckCategory, CategoryCount>;
  readonly violations: Violation[];
}

/** Collects counts and violations while the checks run. */
export class Tally {
  readonly #counts = new Map<CheckCategory, { checked: number; violations: number; skipped?: boolean }>();
  readonly #violations: Violation[] = [];
  readonly #maxDetails: number;

  constructor(maxDetails: number) {
    this.#maxDetails = maxDetails;
    for (const c of CHECK_CATEGORIES) this.#counts.set(c, { checked: 0, violations: 0 });
  }

  checked(category: CheckCategory, n = 1): void {
    (this.#counts.get(category) as { checked: number }).checked += n;
  }

  violation(category: CheckCategory, detail: string, count = 1): void {
    const c = this.#counts.get(category) as { violations: number };
    if (c.violations < this.#maxDetails) this.#violations.push({ category, detail });
    c.violations += count;
  }

  skip(category: CheckCategory): void {
    (this.#counts.get(category) as { skipped?: boolean }).skipped = true;
  }

  report(): CheckReport {
    return {
      counts: Object.fromEntries(CHECK_CATEGORIES.map((c) => [c, { ...requireEntry(this.#counts, c, 'count of category') }])) as Record<
        CheckCategory,
        CategoryCount
      >,
      violations: [...this.#violations],
    };
  }
}
