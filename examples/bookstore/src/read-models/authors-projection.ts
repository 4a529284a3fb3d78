import { FORGOTTEN } from '@ratchet/core';
import { defineProjection } from '@ratchet/projector';
import { z } from 'zod';
import { aggregateIdOf } from './stream-id.js';

/**
 * `authorAdded` as the handler reads it: the address as opened by the projector — the value, or
 * `"[forgotten]"` once the author was forgotten — so not the event's own schema, which would refuse
 * the placeholder (it is no address) and park the event.
 */
const addedAuthor = z.object({ name: z.string(), email: z.string() });

/**
 * The authors list, Sequent's AuthorRecord: one row per author (readers use the view
 * `bookstore_authors`). Besides `authorAdded`, the one other copy of an author's address:
 * `authorForgotten` overwrites it with `"[forgotten]"`, and a rebuild after the forget never sees it.
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
      const { name, email } = addedAuthor.parse(event.data);
      await sql.query(`INSERT INTO ${t.name('bookstore_authors')} (id, name, email, added_at, version) VALUES ($1, $2, $3, $4, $5)`, [
        aggregateIdOf(event.streamId),
        name,
        email,
        event.recordedAt,
        event.version,
      ]);
    },
    async authorForgotten(event, sql, t) {
      await sql.query(`UPDATE ${t.name('bookstore_authors')} SET email = $2, version = $3 WHERE id = $1`, [
        aggregateIdOf(event.streamId),
        FORGOTTEN,
        event.version,
      ]);
    },
  },
});
