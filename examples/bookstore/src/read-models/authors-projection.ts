import { defineProjection } from '@ratchet/projector';
import { authorEvents } from '../domain/author.js';
import { aggregateIdOf } from './stream-id.js';

/**
 * The authors list, Sequent's AuthorRecord: one row per author (readers use the view
 * `bookstore_authors`). Besides `authorAdded`, the one other copy of an author's address.
 */
export const authorsProjection = defineProjection({
  name: 'authors',
  version: 1,
  tables: ['bookstore_authors'],
  aggregateTypes: ['author'],
  async setup(sql, t) {
    await sql.query(
      `CREATE TABLE IF NOT EXISTS ${t.name('bookstore_authors')} (
         id text PRIMARY KEY, name text NOT NULL, email text NOT NULL, added_at timestamptz NOT NULL, version int NOT NULL)`,
    );
  },
  handlers: {
    async authorAdded(event, sql, t) {
      const { name, email } = authorEvents.authorAdded.parse(event.data);
      await sql.query(`INSERT INTO ${t.name('bookstore_authors')} (id, name, email, added_at, version) VALUES ($1, $2, $3, $4, $5)`, [
        aggregateIdOf(event.streamId),
        name,
        email,
        event.recordedAt,
        event.version,
      ]);
    },
  },
});
