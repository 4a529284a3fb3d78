/** A fragment of HTML that is safe to insert as is (made only by {@link html}). */
export class SafeHtml {
  readonly #text: string;
  /** Use the {@link html} tag instead. */
  constructor(text: string) {
    this.#text = text;
  }
  /** The HTML text. */
  toString(): string {
    return this.#text;
  }
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escape text for an HTML text node or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/**
 * The page's one way to build HTML: every interpolated value is escaped, except fragments made by
 * this tag (and arrays of them); `undefined`, `null` and `false` are left out.
 * @example
 * html`<td>${author.name}</td>`; // a name such as <script> is shown, not run
 */
export function html(strings: TemplateStringsArray, ...values: readonly unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += fragment(value) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

function fragment(value: unknown): string {
  if (value === undefined || value === null || value === false) return '';
  if (value instanceof SafeHtml) return value.toString();
  if (Array.isArray(value)) return value.map(fragment).join('');
  return escapeHtml(String(value));
}
