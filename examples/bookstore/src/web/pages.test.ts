import { describe, expect, it } from 'vitest';
import { html } from './html.js';
import { authorPage, authorsPage } from './pages.js';

const author = {
  id: 'a8b1a534-f50b-4173-a73b-5b4a8bbcdd12',
  name: '<script>alert(1)</script>',
  email: 'ben@sequent.io',
  addedAt: new Date(0),
  books: 1,
};

describe('pages', () => {
  it('escape every value, in text and in attributes', () => {
    expect(html`<p title="${'"x" & \'y\''}">${'<b>'}</p>`.toString()).toBe('<p title="&quot;x&quot; &amp; &#39;y&#39;">&lt;b&gt;</p>');
    expect(html`<ul>${[html`<li>${'1<2'}</li>`, html`<li>${undefined}</li>`]}</ul>`.toString()).toBe('<ul><li>1&lt;2</li><li></li></ul>');
    const page = authorsPage([author], { id: 'f', values: { name: '"><img src=x>' }, errors: {} }).toString();
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).not.toContain('<script>');
    expect(page).toContain('value="&quot;&gt;&lt;img src=x&gt;"');
  });

  it("show a field's message beside it, and the typed values again", () => {
    const page = authorsPage([], {
      id: 'form-1',
      values: { name: '', email: 'ben@' },
      errors: { email: 'Enter an e-mail address like ben@sequent.io' },
    }).toString();
    expect(page).toContain('<input type="hidden" name="authorId" value="form-1">');
    expect(page).toContain('id="email" name="email" type="email" value="ben@" aria-invalid="true" aria-describedby="email-error"');
    expect(page).toContain('<span class="error" id="email-error">Enter an e-mail address like ben@sequent.io</span>');
    expect(page).not.toContain('id="name-error"');
    expect(page).toContain('No authors yet.');
  });

  it("list an author's books and show a message about the whole form", () => {
    const page = authorPage(author, [{ id: 'b-1', title: 'Sequent & you', authorId: author.id, addedAt: new Date(0) }], {
      id: 'form-2',
      values: {},
      errors: {},
      message: 'There is no such author',
    }).toString();
    expect(page).toContain('<li data-id="b-1">Sequent &amp; you</li>');
    expect(page).toContain('<p class="error" id="form-error" role="alert">There is no such author</p>');
    expect(page).toContain(`action="/authors/${author.id}/books"`);
  });
});
