import { randomUUID } from 'node:crypto';
import { Author, authorCommands } from '../domain/author.js';
import { emailKey } from '../domain/email-address.js';
import { EMAIL_TAKEN, Email } from '../domain/email.js';
import { authorsProjection } from '../read-models/authors-projection.js';
import type { CommandSender } from './command-sender.js';
import { checkForm } from './field-errors.js';
import { refusalOf, TRY_AGAIN, type FormRefusal } from './form-outcome.js';
import { sendUntilKnown, type SendUntilKnownOptions } from './send-until-known.js';

/** The "add author" form's fields. */
export interface AuthorForm {
  readonly name?: string;
  readonly email?: string;
}

/** What became of an "add author" form. */
export type RegisterAuthorOutcome = { readonly status: 'added'; readonly authorId: string; readonly waited: boolean } | FormRefusal;

/**
 * Sequent's AddAuthor with a unique address, in two steps over the HTTP gateway:
 *
 * 1. check the form with the author's own command schema (a wrong field: nothing is sent);
 * 2. claim the address: `email/<emailKey(address)>` `claim { authorId }` — rejected when another
 *    author holds it (shown on the e-mail field);
 * 3. add the author (`add-author:<authorId>`, a command id fixed by the form, so a resend is
 *    answered with the first outcome), waiting for the `authors` read model;
 * 4. if the add definitely failed, release the claim this request made; if its outcome is unknown,
 *    keep the claim: submitting the same form again claims (a no-op for the same author) and adds.
 *
 * `authorId` is the form's hidden id (`formId`). Why this order and what it guarantees:
 * examples/bookstore/README.md.
 */
export async function registerAuthor(
  sender: CommandSender,
  form: AuthorForm,
  authorId: string,
  retries?: SendUntilKnownOptions,
): Promise<RegisterAuthorOutcome> {
  const checked = checkForm(authorCommands.add, { name: form.name ?? '', email: form.email ?? '' });
  if (!checked.ok) return { status: 'invalid', fields: checked.fields };
  const { name, email } = checked.value;
  const key = emailKey(email);
  // Claims and releases are decided anew by every request (a resent claim of the same author is a
  // no-op by the rule itself), so their command ids are this request's; only the add's is the form's.
  const request = randomUUID();

  const claim = await sendUntilKnown(
    sender,
    { aggregate: Email.type, id: key, command: 'claim', payload: { authorId }, commandId: `claim-email:${authorId}:${request}` },
    retries,
  );
  if (claim.status === 'rejected') {
    return claim.reason === EMAIL_TAKEN
      ? { status: 'refused', fields: { email: EMAIL_TAKEN } }
      : { status: 'failed', message: claim.reason, retry: false };
  }
  if (claim.status === 'error') return refusalOf(claim.error);
  const claimedHere = claim.events.some((e) => e.type === 'emailClaimed');

  const add = await sendUntilKnown(
    sender,
    {
      aggregate: Author.type,
      id: authorId,
      command: 'add',
      payload: { name, email },
      commandId: `add-author:${authorId}`,
      waitFor: authorsProjection.name,
    },
    retries,
  );
  if (add.status === 'ok') return { status: 'added', authorId, waited: add.waited === true };
  // Unknown outcome (the author may exist): the claim must stay with it.
  if (add.status === 'error' && add.error.retryable) return { status: 'failed', message: TRY_AGAIN, retry: true };

  const refusal: FormRefusal = add.status === 'rejected' ? { status: 'failed', message: add.reason, retry: false } : refusalOf(add.error);
  if (!claimedHere) return refusal;
  const release = await sendUntilKnown(
    sender,
    { aggregate: Email.type, id: key, command: 'release', payload: { authorId }, commandId: `release-email:${authorId}:${request}` },
    retries,
  );
  if (release.status === 'ok') return refusal;
  const why = release.status === 'rejected' ? release.reason : `${release.error.code}: ${release.error.message}`;
  // The form keeps its author id (unless it is used up), so submitting it again finishes the job.
  return { ...refusal, warning: `e-mail ${key} stays claimed by author ${authorId}, who was not added: the release failed (${why})` };
}
