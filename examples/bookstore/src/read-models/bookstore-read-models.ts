import type pg from 'pg';

/** What the read models need of a database connection (a `pg.Pool` fits). */
export type ReadModelQuery = Pick<pg.Pool, 'query'>;

/** An author as the `authors` read model has it, with the count of their books. */
export interface AuthorRow {
  readonly id: string;
  readonly name: string;
  readonly email: string;
  readonly addedAt: Date;
  readonly books: number;
}

/** A book as the `books` read model has it. */
export interface BookRow {
  readonly id: string;
  readonly title: string;
  readonly authorId: string;
  readonly addedAt: Date;
}

/** Postgres's "undefined_table": the projector has not created the views yet. */
const UNDEFINED_TABLE = '42P01';

/**
 * Queries of the bookstore's read models, through their stable views (`bookstore_authors`,
 * `bookstore_books`). Before the projector first ran there are no views: every list is empty.
 */
export class BookstoreReadModels {
  readonly #db: ReadModelQuery;

  constructor(db: ReadModelQuery) {
    this.#db = db;
  }

  /** Every author, oldest first, with how many books each has. */
  async authors(): Promise<AuthorRow[]> {
    return this.#rows<AuthorRow>(
      `SELECT a.id, a.name, a.email, a.added_at AS "addedAt", count(b.id)::int AS books
         FROM bookstore_authors a LEFT JOIN bookstore_books b ON b.author_id = a.id
        GROUP BY a.id, a.name, a.email, a.added_at ORDER BY a.added_at, a.id`,
    );
  }

  /** One author, or undefined when the read model has no such author (yet). */
  async author(id: string): Promise<AuthorRow | undefined> {
    const rows = await this.#rows<AuthorRow>(
      `SELECT a.id, a.name, a.email, a.added_at AS "addedAt",
              (SELECT count(*)::int FROM bookstore_books b WHERE b.author_id = a.id) AS books
         FROM bookstore_authors a WHERE a.id = $1`,
      [id],
    );
    return rows[0];
  }

  /** An author's books, oldest first. */
  async booksBy(authorId: string): Promise<BookRow[]> {
    return this.#rows<BookRow>(
      `SELECT id, title, author_id AS "authorId", added_at AS "addedAt" FROM bookstore_books WHERE author_id = $1 ORDER BY added_at, id`,
      [authorId],
    );
  }

  async #rows<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    try {
      return (await this.#db.query<R>(text, values)).rows;
    } catch (error) {
      if ((error as { code?: unknown }).code === UNDEFINED_TABLE) return [];
      throw error;
    }
  }
}
