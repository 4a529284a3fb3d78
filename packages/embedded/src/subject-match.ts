/**
 * Whether a NATS subject matches a subscription's subject, with NATS wildcards: `*` stands for
 * exactly one token, `>` (last token only) for one or more tokens.
 * @example
 * subjectMatches('ratchet.cmd.*.*', 'ratchet.cmd.turnstile.7'); // true
 */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i += 1) {
    const token = p[i];
    if (token === '>') return i === p.length - 1 && s.length > i;
    if (i >= s.length) return false;
    if (token !== '*' && token !== s[i]) return false;
  }
  return p.length === s.length;
}
