import { Book, bookCommands } from '../domain/book.js';
import { booksProjection } from '../read-models/books-projection.js';
import type { BookstoreReadModels } from '../read-models/bookstore-read-models.js';
import type { CommandSender } from './command-sender.js';
import { checkForm } from './field-errors.js';
import { refusalOf, type FormRefusal } from './form-outcome.js';
import { sendUntilKnown, type SendUntilKnownOptions } from './send-until-known.js';

/** The "add book" form's fields (the author is the page's). */
export interface BookForm {
  readonly title?: string;
}

/** What became of an "add book" form. */
export type AddBookOutcome = { readonly status: 'added'; readonly bookId: string; readonly waited: boolean } | FormRefusal;

/** Why a book is refused when its author is not in the authors read model. */
export const UNKNOWN_AUTHOR = 'There is no such author';

/**
 * Add a book by an author: check the form with the book's command schema, check that the author
 * is in the `authors` read model (a row there was committed first, and authors are never removed),
 * then send `add` (`add-book:<bookId>`, the form's id) waiting for the `books` read model. What
 * this does and does not guarantee about the reference: examples/bookstore/README.md.
 */
export async function addBook(
  sender: CommandSender,
  authors: Pick<BookstoreReadModels, 'author'>,
  authorId: string,
  form: BookForm,
  bookId: string,
  retries?: SendUntilKnownOptions,
): Promise<AddBookOutcome> {
  const checked = checkForm(bookCommands.add, { title: form.title ?? '', authorId });
  if (!checked.ok) return { status: 'invalid', fields: checked.fields };
  if ((await authors.author(authorId)) === undefined) return { status: 'refused', fields: { form: UNKNOWN_AUTHOR } };
  const add = await sendUntilKnown(
    sender,
    {
      aggregate: Book.type,
      id: bookId,
      command: 'add',
      payload: checked.value,
      commandId: `add-book:${bookId}`,
      waitFor: booksProjection.name,
    },
    retries,
  );
  if (add.status === 'ok') return { status: 'added', bookId, waited: add.waited === true };
  if (add.status === 'rejected') return { status: 'failed', message: add.reason, retry: false };
  return refusalOf(add.error);
}
