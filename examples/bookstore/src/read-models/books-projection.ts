import { defineProjection } from '@ratchet/projector';
import { bookEvents } from '../domain/book.js';
import { aggregateIdOf } from './stream-id.js';

/** Books by author: one row per book with its author's id (readers use the view `bookstore_books`). */
export const booksProjection = defineProjection({
  name: 'books',
  version: 1,
  tables: ['bookstore_books'],
  aggregateTypes: ['book'],
  async setup(sql, t) {
    await sql.query(
      `CREATE TABLE IF NOT EXISTS ${t.name('bookstore_books')} (
         id text PRIMARY KEY, author_id text NOT NULL, title text NOT NULL, added_at timestamptz NOT NULL, version int NOT NULL)`,
    );
    await sql.query(
      `CREATE INDEX IF NOT EXISTS ${t.physical('bookstore_books')}_author ON ${t.name('bookstore_books')} (author_id, added_at)`,
    );
  },
  handlers: {
    async bookAdded(event, sql, t) {
      const { title, authorId } = bookEvents.bookAdded.parse(event.data);
      await sql.query(`INSERT INTO ${t.name('bookstore_books')} (id, author_id, title, added_at, version) VALUES ($1, $2, $3, $4, $5)`, [
        aggregateIdOf(event.streamId),
        authorId,
        title,
        event.recordedAt,
        event.version,
      ]);
    },
  },
});
