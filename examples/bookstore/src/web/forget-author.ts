import { randomUUID } from 'node:crypto';
import { isForgotten } from '@ratchet/core';
import { Author } from '../domain/author.js';
import { emailKey } from '../domain/email-address.js';
import { Email } from '../domain/email.js';
import { authorsProjection } from '../read-models/authors-projection.js';
import type { BookstoreReadModels } from '../read-models/bookstore-read-models.js';
import type { CommandSender } from './command-sender.js';
import { refusalOf, type FormRefusal } from './form-outcome.js';
import { sendUntilKnown, type SendUntilKnownOptions } from './send-until-known.js';

/** What forgets a data subject: the store's cipher (`store.cipher`), deleting the subject's key. */
export interface SubjectForgetter {
  forget(subject: string): Promise<Date>;
}

/** What became of a "forget me". */
export type ForgetAuthorOutcome = { readonly status: 'forgotten' } | { readonly status: 'unknown-author' } | FormRefusal;

/**
 * "Forget me" for an author, crypto-shredding their address (docs/sensitive-data.md):
 *
 * 1. release the address's claim, so the address is free again (its claim stream keeps only the
 *    address's hash, and the author id);
 * 2. `forget` the author (`forget-author:<id>`), waiting for the `authors` read model, whose row
 *    then shows `"[forgotten]"` instead of the address;
 * 3. delete the author's key: every copy of the sealed address in the store and in JetStream reads
 *    as `"[forgotten]"` from then on, and rebuilding the read model never sees it.
 *
 * Each step may be done again: submitting the form again after a failure finishes the job.
 */
export async function forgetAuthor(
  sender: CommandSender,
  readModels: Pick<BookstoreReadModels, 'author'>,
  forgetter: SubjectForgetter,
  authorId: string,
  retries?: SendUntilKnownOptions,
): Promise<ForgetAuthorOutcome> {
  const author = await readModels.author(authorId);
  if (author === undefined) return { status: 'unknown-author' };
  if (!isForgotten(author.email)) {
    const key = emailKey(author.email);
    const release = await sendUntilKnown(
      sender,
      { aggregate: Email.type, id: key, command: 'release', payload: { authorId }, commandId: `release-email:${authorId}:${randomUUID()}` },
      retries,
    );
    // Rejected: not claimed, or by someone else (a claim left by an earlier attempt was released): nothing to free.
    if (release.status === 'error') return refusalOf(release.error);
  }
  const forget = await sendUntilKnown(
    sender,
    {
      aggregate: Author.type,
      id: authorId,
      command: 'forget',
      payload: {},
      commandId: `forget-author:${authorId}`,
      waitFor: authorsProjection.name,
    },
    retries,
  );
  if (forget.status === 'rejected') return { status: 'failed', message: forget.reason, retry: false };
  if (forget.status === 'error') return refusalOf(forget.error);
  await forgetter.forget(authorId);
  return { status: 'forgotten' };
}
