const statementNames = new Map<string, string>();

/**
 * A prepared-statement name per distinct SQL text (FNV-1a of the text): the store's statements are
 * a fixed set (values are always parameters), so each connection prepares each one once.
 */
export function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    let h = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
    name = `ratchet_${h.toString(16)}_${text.length}`;
    statementNames.set(text, name);
  }
  return name;
}
