import { usageError } from '../cli-error.js';
import type { CliContext } from '../cli-context.js';
import { cliStore } from '../cli-store.js';
import { openPostgres, requireEventStore } from '../connections.js';
import { ExitCode } from '../exit-code.js';

/**
 * `ratchet forget <subject>`: crypto-shredding (docs/sensitive-data.md). The subject's key is
 * deleted and the forget recorded; from then on its sealed values read as their placeholder
 * everywhere. Read models keep what they already hold until their handlers overwrite it or the
 * projection is rebuilt. Needs a role allowed to run `ratchet.forget_subject` (not the worker's).
 */
export async function runForget(ctx: CliContext, positionals: readonly string[]): Promise<number> {
  const [subject, ...extra] = positionals;
  if (subject === undefined || extra.length > 0) throw usageError('usage: ratchet forget <subject>');
  if (subject.length === 0 || subject.length > 200) throw usageError('a subject is 1 to 200 characters');
  const pool = await openPostgres(ctx.options);
  const store = cliStore(ctx, pool);
  try {
    await requireEventStore(pool, ctx.options);
    const at = await store.cipher.forget(subject);
    if (ctx.options.json) ctx.out(JSON.stringify({ subject, forgottenAt: at.toISOString() }));
    else
      ctx.out(
        `forgot ${subject}: its key is deleted (first forgotten ${at.toISOString()}); rebuild the read models that copied its values`,
      );
    return ExitCode.OK;
  } finally {
    await store.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
  }
}
