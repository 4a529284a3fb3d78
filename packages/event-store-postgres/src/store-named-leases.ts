import { checkInt, checkText } from './store-input.js';
import type { StoreQuery } from './store-query.js';

/** Named leases: one holder at a time for a job (the outbox relay), by Postgres's clock. */
export interface NamedLeaseStore {
  /** Take the named lease, or renew it when `holder` has it; false while someone else holds an unexpired one. */
  tryAcquireLease(name: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Give a lease up early (on drain) so another holder need not wait for it to expire. */
  releaseLease(name: string, holder: string): Promise<void>;
}

/** The named-lease methods of a store in schema `s` (quoted). */
export function namedLeaseStore(query: StoreQuery, s: string): NamedLeaseStore {
  return {
    async tryAcquireLease(name, holder, ttlMs) {
      checkText(name, 'name');
      checkText(holder, 'holder');
      checkInt(ttlMs, 'ttlMs', 1);
      // Postgres's clock decides expiry, so holders' clocks never need to agree.
      const res = await query(
        'tryAcquireLease',
        `INSERT INTO ${s}.leases AS t (name, holder, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE t.holder = excluded.holder OR t.expires_at < now()`,
        [name, holder, ttlMs],
      );
      return res.rowCount === 1;
    },
    async releaseLease(name, holder) {
      await query('releaseLease', `DELETE FROM ${s}.leases WHERE name = $1 AND holder = $2`, [name, holder]);
    },
  };
}
