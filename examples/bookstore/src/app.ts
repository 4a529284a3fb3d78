// The bookstore's app module: RATCHET_APP=examples/bookstore/src/app.ts runs it in the worker,
// projector, dashboard and gateway, exactly as the turnstile app runs in the demo.
import { defineApp } from '@ratchet/app';
import { Author } from './domain/author.js';
import { Book } from './domain/book.js';
import { Email } from './domain/email.js';
import { authorsProjection } from './read-models/authors-projection.js';
import { booksProjection } from './read-models/books-projection.js';

export default defineApp({
  name: 'bookstore',
  aggregates: [Author, Email, Book],
  projections: [authorsProjection, booksProjection],
});
