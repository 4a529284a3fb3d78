import { isForgotten } from '@ratchet/core';
import type { AuthorRow, BookRow } from '../read-models/bookstore-read-models.js';
import type { FieldErrors } from './field-errors.js';
import { html, type SafeHtml } from './html.js';

/** A form as the page shows it again: the values typed, the hidden id, the messages. */
export interface FormState {
  /** The hidden id (an author's or a book's) the form is submitted with. */
  readonly id: string;
  readonly values: Readonly<Record<string, string>>;
  readonly errors: FieldErrors;
  /** A message about the whole form (not one field). */
  readonly message?: string;
}

/** The list of authors with the "add author" form (Sequent's index and authors pages in one). */
export function authorsPage(authors: readonly AuthorRow[], form: FormState, notice?: string): SafeHtml {
  const rows = authors.map(
    (a) =>
      html`<tr data-id="${a.id}"><td><a href="/authors/${encodeURIComponent(a.id)}">${a.name}</a></td><td>${a.email}</td><td class="n">${a.books}</td></tr>`,
  );
  return layout(
    'Authors',
    html`${noticeOf(notice)}
<h1>Authors</h1>
${
  authors.length === 0
    ? html`<p id="no-authors" class="muted">No authors yet.</p>`
    : html`<table id="authors"><thead><tr><th>Name</th><th>E-mail</th><th class="n">Books</th></tr></thead><tbody>${rows}</tbody></table>`
}
<form id="add-author" method="post" action="/authors" novalidate>
  <h2>Add an author</h2>
  ${formMessage(form)}
  <input type="hidden" name="authorId" value="${form.id}">
  ${field('name', 'Name', 'text', form)}
  ${field('email', 'E-mail', 'email', form)}
  <button type="submit">Add author</button>
</form>`,
  );
}

/** One author, their books (the books-by-author read model) and the "add book" form. */
export function authorPage(author: AuthorRow, books: readonly BookRow[], form: FormState, notice?: string, canForget = false): SafeHtml {
  const items = books.map((b) => html`<li data-id="${b.id}">${b.title}</li>`);
  return layout(
    author.name,
    html`${noticeOf(notice)}
<p><a href="/">All authors</a></p>
<h1 id="author-name">${author.name}</h1>
<p>E-mail: <span id="author-email">${author.email}</span></p>
<h2>Books</h2>
${books.length === 0 ? html`<p id="no-books" class="muted">No books yet.</p>` : html`<ul id="books">${items}</ul>`}
<form id="add-book" method="post" action="/authors/${encodeURIComponent(author.id)}/books" novalidate>
  <h2>Add a book</h2>
  ${formMessage(form)}
  <input type="hidden" name="bookId" value="${form.id}">
  ${field('title', 'Title', 'text', form)}
  <button type="submit">Add book</button>
</form>
${
  isForgotten(author.email)
    ? html`<p id="forgotten" class="muted">This author's e-mail address was forgotten at their request.</p>`
    : !canForget
      ? html``
      : html`<form id="forget-me" method="post" action="/authors/${encodeURIComponent(author.id)}/forget">
  <h2>Forget me</h2>
  <p class="muted">Deletes the key that seals this author's e-mail address: from then on it reads as "[forgotten]" everywhere Ratchet keeps it, and the address is free for another author.</p>
  <button type="submit">Forget my e-mail address</button>
</form>`
}`,
  );
}

/** A page saying what was not found or went wrong, with a way back. */
export function messagePage(title: string, message: string): SafeHtml {
  return layout(title, html`<h1>${title}</h1><p id="message">${message}</p><p><a href="/">All authors</a></p>`);
}

// `novalidate` on the forms: the browser's own checks would stop a bad e-mail before the server
// sees it; the page's point is that the command's schema decides, and its message comes back.
function field(name: string, label: string, type: string, form: FormState): SafeHtml {
  const error = form.errors[name];
  return html`<p class="field"><label for="${name}">${label}</label>
    <input id="${name}" name="${name}" type="${type}" value="${form.values[name] ?? ''}"${error === undefined ? '' : html` aria-invalid="true" aria-describedby="${name}-error"`}>
    ${error === undefined ? '' : html`<span class="error" id="${name}-error">${error}</span>`}</p>`;
}

function formMessage(form: FormState): SafeHtml {
  const message = form.message ?? form.errors.form;
  return message === undefined ? html`` : html`<p class="error" id="form-error" role="alert">${message}</p>`;
}

function noticeOf(notice: string | undefined): SafeHtml {
  return notice === undefined ? html`` : html`<p class="notice" id="notice" role="status">${notice}</p>`;
}

function layout(title: string, body: SafeHtml): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Bookstore</title>
<link rel="icon" href="data:,">
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  header { border-bottom: 1px solid #333; padding-bottom: .5rem; margin-bottom: 1rem; }
  header a { font-weight: 600; text-decoration: none; color: inherit; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #ddd; }
  .n { text-align: right; }
  form { margin-top: 2rem; padding: 1rem; border: 1px solid #ccc; border-radius: 4px; }
  form h2 { margin-top: 0; }
  .field label { display: block; font-weight: 600; }
  .field input { width: 100%; max-width: 24rem; padding: .3rem; }
  input[aria-invalid="true"] { border: 2px solid #b00020; }
  .error { color: #b00020; display: block; }
  .notice { background: #e7f5e9; border: 1px solid #7bb686; padding: .5rem .8rem; }
  .muted { color: #666; }
</style>
</head>
<body>
<header><a href="/">Bookstore</a></header>
<main>
${body}
</main>
</body>
</html>
`;
}
