import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { BookstoreReadModels } from '../read-models/bookstore-read-models.js';
import { addBook } from './add-book.js';
import { forgetAuthor, type SubjectForgetter } from './forget-author.js';
import type { CommandSender } from './command-sender.js';
import { formId, type FormRefusal } from './form-outcome.js';
import { readForm } from './read-form.js';
import { authorPage, authorsPage, messagePage, type FormState } from './pages.js';
import { registerAuthor } from './register-author.js';
import type { SafeHtml } from './html.js';

/** Options of {@link createBookstoreWeb}. */
export interface BookstoreWebOptions {
  /** Sends the commands: the HTTP gateway (`createGatewaySender`). */
  readonly sender: CommandSender;
  /** Reads the authors and books read models. */
  readonly readModels: BookstoreReadModels;
  /** Deletes a data subject's key for "forget me" (`store.cipher`); without it the author's page has no such form. */
  readonly forgetter?: SubjectForgetter;
  /** Where warnings (a claim left behind) and failures go. Default: nowhere. */
  readonly logger?: Pick<Logger, 'warn' | 'error'>;
  /** Largest form body accepted, in bytes. Default 16,384. */
  readonly maxBodyBytes?: number;
}

/** The bookstore page as a node:http request listener. */
export type BookstoreWeb = (req: IncomingMessage, res: ServerResponse) => void;

const AUTHOR_PATH = /^\/authors\/([^/]+)$/;
const BOOKS_PATH = /^\/authors\/([^/]+)\/books$/;
const FORGET_PATH = /^\/authors\/([^/]+)\/forget$/;

/**
 * The bookstore's server-rendered page (Sequent's Sinatra app): the authors list with an "add
 * author" form, an author's page with their books and an "add book" form. Forms post here; this
 * sends commands through the HTTP gateway, waits for the read model (`?waitFor=`), and redirects to
 * a page that shows the new row, or shows the form again with each field's message.
 * @example
 * createServer(createBookstoreWeb({ sender: createGatewaySender({ url }), readModels: new BookstoreReadModels(pool) })).listen(8088);
 */
export function createBookstoreWeb(options: BookstoreWebOptions): BookstoreWeb {
  const { sender, readModels } = options;
  const maxBodyBytes = options.maxBodyBytes ?? 16_384;

  const authorsList = async (res: ServerResponse, status: number, form: FormState, notice?: string): Promise<void> => {
    send(res, status, authorsPage(await readModels.authors(), form, notice));
  };

  const routes = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://bookstore');
    const path = url.pathname;
    const method = req.method ?? 'GET';

    if (path === '/') {
      if (!allow(req, res, 'GET')) return;
      const added = url.searchParams.get('added');
      const author = added === null ? undefined : (await readModels.authors()).find((a) => a.id === added);
      const notice =
        added === null
          ? undefined
          : author === undefined
            ? 'Author added; the list will show them in a moment.'
            : `Author ${author.name} added.`;
      return authorsList(res, 200, emptyForm(), notice);
    }
    if (path === '/authors') {
      if (!allow(req, res, 'POST')) return;
      const form = await readForm(req, maxBodyBytes);
      if (form.status !== 'ok') return send(res, form.httpStatus, messagePage('Not accepted', form.message));
      const authorId = formId(form.fields.authorId);
      const values = { name: form.fields.name ?? '', email: form.fields.email ?? '' };
      const outcome = await registerAuthor(sender, values, authorId);
      if (outcome.status === 'added') return redirect(res, `/?added=${encodeURIComponent(outcome.authorId)}`);
      if (outcome.warning !== undefined) options.logger?.warn({ authorId }, outcome.warning);
      return authorsList(res, statusOf(outcome), formAgain(outcome, authorId, values));
    }
    const booksOf = BOOKS_PATH.exec(path)?.[1];
    if (booksOf !== undefined) {
      if (!allow(req, res, 'POST')) return;
      const authorId = decoded(booksOf);
      const form = await readForm(req, maxBodyBytes);
      if (form.status !== 'ok') return send(res, form.httpStatus, messagePage('Not accepted', form.message));
      const bookId = formId(form.fields.bookId);
      const values = { title: form.fields.title ?? '' };
      const outcome = await addBook(sender, readModels, authorId, values, bookId);
      if (outcome.status === 'added')
        return redirect(res, `/authors/${encodeURIComponent(authorId)}?added=${encodeURIComponent(outcome.bookId)}`);
      const author = await readModels.author(authorId);
      if (author === undefined) return send(res, 404, messagePage('No such author', 'There is no such author.'));
      return send(
        res,
        statusOf(outcome),
        authorPage(
          author,
          await readModels.booksBy(authorId),
          formAgain(outcome, bookId, values),
          undefined,
          options.forgetter !== undefined,
        ),
      );
    }
    const forgetId = FORGET_PATH.exec(path)?.[1];
    if (forgetId !== undefined && options.forgetter !== undefined) {
      if (!allow(req, res, 'POST')) return;
      const authorId = decoded(forgetId);
      const outcome = await forgetAuthor(sender, readModels, options.forgetter, authorId);
      if (outcome.status === 'forgotten') return redirect(res, `/authors/${encodeURIComponent(authorId)}?forgotten=1`);
      if (outcome.status === 'unknown-author') return send(res, 404, messagePage('No such author', 'There is no such author.'));
      const message = outcome.status === 'failed' ? outcome.message : 'This could not be done.';
      return send(res, statusOf(outcome), messagePage('Not forgotten yet', `${message} Submit "forget me" again on the author's page.`));
    }
    const oneId = AUTHOR_PATH.exec(path)?.[1];
    if (oneId !== undefined) {
      if (!allow(req, res, 'GET')) return;
      const authorId = decoded(oneId);
      const author = await readModels.author(authorId);
      if (author === undefined) return send(res, 404, messagePage('No such author', 'There is no such author.'));
      const bookList = await readModels.booksBy(authorId);
      const added = url.searchParams.get('added');
      const book = added === null ? undefined : bookList.find((b) => b.id === added);
      const addedNotice =
        added === null ? undefined : book === undefined ? 'Book added; the list will show it in a moment.' : `Book ${book.title} added.`;
      const notice = url.searchParams.has('forgotten') ? 'Your e-mail address was forgotten.' : addedNotice;
      return send(res, 200, authorPage(author, bookList, emptyForm(), notice, options.forgetter !== undefined));
    }
    if (method !== 'GET' && method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
    send(res, 404, messagePage('Not found', `There is no page ${path}.`));
  };

  return (req, res) => {
    routes(req, res).catch((error: unknown) => {
      options.logger?.error({ err: error, url: req.url }, 'bookstore page failed');
      if (!res.headersSent)
        send(res, 500, messagePage('Something went wrong', 'The bookstore could not answer this request. Try again in a moment.'));
      else res.destroy();
    });
  };
}

/** A path segment decoded; a bad escape stays as it came (and names no author). */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** A fresh form: a new hidden id, nothing typed. */
function emptyForm(): FormState {
  return { id: formId(undefined), values: {}, errors: {} };
}

/** The form shown again after a refusal, keeping its id unless that id is used up. */
function formAgain(outcome: FormRefusal, id: string, values: Readonly<Record<string, string>>): FormState {
  if (outcome.status !== 'failed') return { id, values, errors: outcome.fields };
  return { id: outcome.retry ? id : formId(undefined), values, errors: {}, message: outcome.message };
}

function statusOf(outcome: FormRefusal): number {
  if (outcome.status === 'invalid') return 400;
  if (outcome.status === 'refused') return 409;
  return outcome.retry ? 503 : 500;
}

function allow(req: IncomingMessage, res: ServerResponse, method: 'GET' | 'POST'): boolean {
  const m = req.method ?? 'GET';
  if (m === method || (method === 'GET' && m === 'HEAD')) return true;
  res.writeHead(405, { allow: method === 'GET' ? 'GET, HEAD' : 'POST' }).end();
  return false;
}

function redirect(res: ServerResponse, location: string): void {
  // 303: the browser follows with a GET, so a reload of the next page does not post the form again.
  res.writeHead(303, { location, 'content-length': '0' }).end();
}

function send(res: ServerResponse, status: number, page: SafeHtml): void {
  const body = Buffer.from(page.toString(), 'utf8');
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(body.length), 'cache-control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
