// The bookstore on real services (worker, projector and gateway processes loading its app module
// through RATCHET_APP) with its page in this process: forms become commands through the HTTP
// gateway, and the page shows the read models. Covers read-your-writes, validation shown in the
// form, invalid payloads refused by the gateway without writing, and one author per e-mail address
// under concurrent AddAuthor — including when the second step fails.
import { ErrorCode } from '@ratchet/core';
import { createPostgresEventStore, type PostgresEventStore } from '@ratchet/event-store-postgres';
import type { GatewayResult } from '@ratchet/gateway';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BookstoreReadModels,
  createGatewaySender,
  EMAIL_TAKEN,
  emailKey,
  registerAuthor,
  startBookstoreWeb,
  type CommandSender,
  type RunningBookstoreWeb,
} from '../src/index.js';
import { startBookstoreStack, type BookstoreStack } from './bookstore-stack.js';

let stack: BookstoreStack | undefined;
let web: RunningBookstoreWeb | undefined;
let pool: pg.Pool;
let store: PostgresEventStore;
let sender: CommandSender;

beforeAll(async () => {
  stack = await startBookstoreStack('bookstore');
  pool = new pg.Pool({ connectionString: stack.db.url, max: 4 });
  pool.on('error', () => undefined);
  store = createPostgresEventStore({ pool });
  sender = createGatewaySender({ url: stack.gatewayUrl, timeoutMs: 30_000 });
  web = await startBookstoreWeb({ port: 0, sender, readModels: new BookstoreReadModels(pool) });
}, 180_000);

afterAll(async () => {
  await web?.close();
  await pool?.end();
  await stack?.stop();
}, 60_000);

interface Answer {
  readonly status: number;
  readonly location: string | null;
  readonly text: string;
}

async function post(path: string, fields: Record<string, string>): Promise<Answer> {
  const res = await fetch(new URL(path, web!.url), { method: 'POST', body: new URLSearchParams(fields), redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location'), text: await res.text() };
}

async function get(path: string): Promise<string> {
  const res = await fetch(new URL(path, web!.url));
  expect(res.status).toBe(200);
  return res.text();
}

/** The hidden id the page put in a form. */
function hiddenId(page: string, name: 'authorId' | 'bookId'): string {
  const match = new RegExp(`name="${name}" value="([0-9a-f-]{36})"`).exec(page);
  expect(match).not.toBeNull();
  return match![1]!;
}

/** A stream's events as the store holds them, the author's sealed address opened (forget-me.test.ts checks the sealing). */
async function events(streamId: string): Promise<Array<{ type: string; data: Record<string, string> }>> {
  const stored = await store.cipher.openEvents(await store.readStream(streamId));
  return stored.map((e) => ({ type: e.type, data: e.data as Record<string, string> }));
}

async function written(): Promise<{ events: number; commands: number }> {
  const { rows } = await pool.query(
    `SELECT (SELECT count(*)::int FROM ratchet.events) AS events, (SELECT count(*)::int FROM ratchet.processed_commands) AS commands`,
  );
  return rows[0];
}

describe('the bookstore app on the services', () => {
  it('is what the worker, projector and gateway loaded', () => {
    expect(stack!.worker.logs.find((l) => l.msg === 'app loaded')).toMatchObject({
      app: 'bookstore',
      aggregates: ['author', 'email', 'book'],
    });
    expect(stack!.projector.ready).toMatchObject({ app: 'bookstore', projections: ['authors@v1', 'books@v1'] });
    expect(stack!.gateway.ready.waitFor).toEqual(['authors', 'books']);
  });
});

describe('adding authors from the page', () => {
  it('adds an author and shows the row on the page it redirects to (read-your-writes)', async () => {
    const authorId = hiddenId(await get('/'), 'authorId');
    const res = await post('/authors', { authorId, name: 'Ben', email: 'Ben@Sequent.io' });
    expect(res.status).toBe(303);
    expect(res.location).toBe(`/?added=${authorId}`);
    // No polling: the gateway answered after the authors read model had the row.
    const page = await get(res.location!);
    expect(page).toContain(`<tr data-id="${authorId}"><td><a href="/authors/${authorId}">Ben</a></td><td>Ben@Sequent.io</td>`);
    expect(page).toContain('Author Ben added.');
    expect(await events(`author/${authorId}`)).toEqual([{ type: 'authorAdded', data: { name: 'Ben', email: 'Ben@Sequent.io' } }]);
    expect(await events(`email/${emailKey('ben@sequent.io')}`)).toEqual([{ type: 'emailClaimed', data: { authorId } }]);
  });

  it("shows each field's message in the form, keeps what was typed, and writes nothing", async () => {
    const before = await written();
    const res = await post('/authors', { authorId: hiddenId(await get('/'), 'authorId'), name: ' ', email: 'kim@' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('<span class="error" id="name-error">Enter a name</span>');
    expect(res.text).toContain('<span class="error" id="email-error">Enter an e-mail address like ben@sequent.io</span>');
    expect(res.text).toContain('value="kim@"');
    expect(await written()).toEqual(before);
  });

  it('adds one author for a form submitted twice at once', async () => {
    const authorId = hiddenId(await get('/'), 'authorId');
    const form = { authorId, name: 'Ada', email: 'ada@sequent.io' };
    const answers = await Promise.all([post('/authors', form), post('/authors', form)]);
    expect(answers.map((a) => [a.status, a.location])).toEqual([
      [303, `/?added=${authorId}`],
      [303, `/?added=${authorId}`],
    ]);
    expect(await events(`author/${authorId}`)).toHaveLength(1);
    expect(await events(`email/${emailKey('ada@sequent.io')}`)).toEqual([{ type: 'emailClaimed', data: { authorId } }]);
  });
});

describe('one author per e-mail address', () => {
  it('gives concurrent AddAuthor forms with one address exactly one author; the others see why in the form', async () => {
    for (const round of [1, 2, 3]) {
      const address = `race-${round}@sequent.io`;
      // Six people at once, the address typed six ways.
      const spellings = [address, address.toUpperCase(), ` ${address}`, `Race-${round}@Sequent.io`, address, `${address} `];
      const answers = await Promise.all(
        spellings.map((email, i) => post('/authors', { authorId: crypto.randomUUID(), name: `Racer ${round}.${i}`, email })),
      );
      expect(answers.filter((a) => a.status === 303)).toHaveLength(1);
      const refused = answers.filter((a) => a.status !== 303);
      expect(refused.map((a) => a.status)).toEqual([409, 409, 409, 409, 409]);
      for (const a of refused) expect(a.text).toContain(`<span class="error" id="email-error">${EMAIL_TAKEN}</span>`);

      const winner = answers.find((a) => a.status === 303)!.location!.replace('/?added=', '');
      const authorsAdded = await pool.query<{ stream_id: string }>(`SELECT stream_id FROM ratchet.events WHERE type = 'authorAdded'`);
      const withAddress = [];
      for (const { stream_id } of authorsAdded.rows) {
        if ((await events(stream_id)).some((e) => e.data.email?.trim().toLowerCase() === address)) withAddress.push(stream_id);
      }
      expect(withAddress).toEqual([`author/${winner}`]);
      expect(await events(`email/${emailKey(address)}`)).toEqual([{ type: 'emailClaimed', data: { authorId: winner } }]);
      const listed = await pool.query(`SELECT id FROM bookstore_authors WHERE lower(email) = $1`, [address]);
      expect(listed.rows).toEqual([{ id: winner }]);
    }
  });

  it('lets exactly one of many concurrent claims through the gateway', async () => {
    const key = emailKey('claims@sequent.io');
    const authors = Array.from({ length: 8 }, () => crypto.randomUUID());
    const answers = await Promise.all(
      authors.map((authorId) =>
        sender.send({ aggregate: 'email', id: key, command: 'claim', payload: { authorId }, commandId: `claim-test:${authorId}` }),
      ),
    );
    const ok = answers.filter((a) => a.status === 'ok');
    expect(ok).toHaveLength(1);
    expect(answers.filter((a) => a.status === 'rejected' && a.reason === EMAIL_TAKEN)).toHaveLength(7);
    expect((await events(`email/${key}`)).map((e) => e.type)).toEqual(['emailClaimed']);
  });

  it('releases the claim when adding the author definitely failed, so the address is free again', async () => {
    // The add is refused by the gateway (an unknown field): a definite failure after a good claim.
    const refusingAdd: CommandSender = {
      send: (r) => sender.send(r.aggregate === 'author' ? { ...r, payload: { ...r.payload, nickname: 'x' } } : r),
    };
    const authorId = crypto.randomUUID();
    const outcome = await registerAuthor(refusingAdd, { name: 'Lee', email: 'lee@sequent.io' }, authorId);
    expect(outcome).toMatchObject({ status: 'invalid', fields: { form: expect.stringMatching(/nickname/) } });
    expect(outcome).not.toHaveProperty('warning');
    expect(await events(`author/${authorId}`)).toEqual([]);
    expect(await events(`email/${emailKey('lee@sequent.io')}`)).toEqual([
      { type: 'emailClaimed', data: { authorId } },
      { type: 'emailReleased', data: { authorId } },
    ]);
    const other = crypto.randomUUID();
    expect(await registerAuthor(sender, { name: 'Lee', email: 'LEE@sequent.io' }, other)).toEqual({
      status: 'added',
      authorId: other,
      waited: true,
    });
  });

  it.each([
    ['was lost before the gateway', false],
    ['was committed, but its answer was lost', true],
  ])('keeps the claim when the outcome of adding is unknown (the add %s); the same form finishes it', async (_what, commits) => {
    const timeout: GatewayResult = {
      status: 'error',
      error: { code: ErrorCode.TIMEOUT, message: 'no answer', retryable: true },
      attempts: 1,
    };
    const losingAdd: CommandSender = {
      async send(r) {
        if (r.aggregate !== 'author') return sender.send(r);
        if (commits) await sender.send(r);
        return timeout;
      },
    };
    const email = `unknown-${String(commits)}@sequent.io`;
    const authorId = crypto.randomUUID();
    expect(await registerAuthor(losingAdd, { name: 'Max', email }, authorId, { attempts: 2, backoffMs: 10 })).toMatchObject({
      status: 'failed',
      retry: true,
    });
    expect(await events(`email/${emailKey(email)}`)).toEqual([{ type: 'emailClaimed', data: { authorId } }]);
    // Meanwhile nobody else gets the address.
    expect(await registerAuthor(sender, { name: 'Someone else', email }, crypto.randomUUID())).toEqual({
      status: 'refused',
      fields: { email: EMAIL_TAKEN },
    });
    // The same form again (same author id, same add command id): one author, one claim.
    expect(await registerAuthor(sender, { name: 'Max', email }, authorId)).toMatchObject({ status: 'added', authorId });
    expect(await events(`author/${authorId}`)).toEqual([{ type: 'authorAdded', data: { name: 'Max', email } }]);
    expect(await events(`email/${emailKey(email)}`)).toEqual([{ type: 'emailClaimed', data: { authorId } }]);
  });
});

describe('invalid payloads at the gateway', () => {
  const key = emailKey('nobody@sequent.io');
  it.each([
    [
      'an author without a name and with a bad address',
      'author',
      crypto.randomUUID(),
      { command: 'add', payload: { name: '', email: 'x' } },
      ErrorCode.VALIDATION_FAILED,
      [
        ['payload', 'name'],
        ['payload', 'email'],
      ],
    ],
    [
      'an author with a field the command does not have',
      'author',
      crypto.randomUUID(),
      { command: 'add', payload: { name: 'Ben', email: 'b@sequent.io', admin: true } },
      ErrorCode.VALIDATION_FAILED,
      [['payload']],
    ],
    [
      'a claim for an author id that is no UUID',
      'email',
      key,
      { command: 'claim', payload: { authorId: 'ben' } },
      ErrorCode.VALIDATION_FAILED,
      [['payload', 'authorId']],
    ],
    [
      'a book without a title, by no valid author id',
      'book',
      crypto.randomUUID(),
      { command: 'add', payload: { title: ' ', authorId: 'nope' } },
      ErrorCode.VALIDATION_FAILED,
      [
        ['payload', 'title'],
        ['payload', 'authorId'],
      ],
    ],
    [
      'a command a book does not have',
      'book',
      crypto.randomUUID(),
      { command: 'remove', payload: {} },
      ErrorCode.UNKNOWN_COMMAND,
      undefined,
    ],
    [
      'an address itself as the claim id (it contains dots)',
      'email',
      'ben@sequent.io',
      { command: 'claim', payload: { authorId: crypto.randomUUID() } },
      ErrorCode.INVALID_ID,
      undefined,
    ],
    [
      'an aggregate type the app does not have',
      'publisher',
      'p-1',
      { command: 'add', payload: {} },
      ErrorCode.UNKNOWN_AGGREGATE,
      undefined,
    ],
  ])('refuses %s with a typed error and writes nothing', async (_what, type, id, body, code, paths) => {
    const before = await written();
    const res = await fetch(`${stack!.gatewayUrl}/commands/${type}/${encodeURIComponent(id)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(code === ErrorCode.UNKNOWN_AGGREGATE ? 404 : 400);
    const answer = (await res.json()) as {
      status: string;
      attempts: number;
      error: { code: string; retryable: boolean; details?: { issues?: Array<{ path: unknown[] }> } };
    };
    expect(answer).toMatchObject({ status: 'error', attempts: 0, error: { code, retryable: false } });
    if (paths !== undefined) expect(answer.error.details?.issues?.map((i) => i.path)).toEqual(paths);
    expect(await written()).toEqual(before);
  });
});

describe('books by author', () => {
  it("adds a book on its author's page and lists it there at once; the authors list counts it", async () => {
    const authorId = crypto.randomUUID();
    expect(await registerAuthor(sender, { name: 'Eric', email: 'eric@sequent.io' }, authorId)).toMatchObject({ status: 'added' });
    const bookId = hiddenId(await get(`/authors/${authorId}`), 'bookId');
    const res = await post(`/authors/${authorId}/books`, { bookId, title: 'Domain-Driven Design' });
    expect(res).toMatchObject({ status: 303, location: `/authors/${authorId}?added=${bookId}` });
    const page = await get(res.location!);
    expect(page).toContain(`<li data-id="${bookId}">Domain-Driven Design</li>`);
    expect(page).toContain('Book Domain-Driven Design added.');
    expect(await get('/')).toMatch(new RegExp(`<tr data-id="${authorId}">.*<td class="n">1</td></tr>`));
    expect(await events(`book/${bookId}`)).toEqual([{ type: 'bookAdded', data: { title: 'Domain-Driven Design', authorId } }]);
  });

  it('shows a missing title in the form, and refuses a book by an author the read model does not have, writing nothing', async () => {
    const authorId = crypto.randomUUID();
    expect(await registerAuthor(sender, { name: 'Vaughn', email: 'vaughn@sequent.io' }, authorId)).toMatchObject({ status: 'added' });
    const before = await written();
    const untitled = await post(`/authors/${authorId}/books`, { bookId: crypto.randomUUID(), title: '' });
    expect(untitled.status).toBe(400);
    expect(untitled.text).toContain('<span class="error" id="title-error">Enter a title</span>');
    const orphan = await post(`/authors/${crypto.randomUUID()}/books`, { bookId: crypto.randomUUID(), title: 'Orphan' });
    expect(orphan.status).toBe(404);
    expect(orphan.text).toContain('There is no such author.');
    expect(await written()).toEqual(before);
  });
});
