import { describe, expect, it } from 'vitest';
import { docSteps, missingLine } from './doc-steps.js';

const page = [
  'Intro.',
  '```ts',
  '// src/a.ts',
  'export const a = 1;',
  '```',
  '```ts',
  "import { a } from './a.js'; // a snippet, not a file",
  '```',
  '```sh',
  'cd x && npm test',
  '```',
  '<!-- output -->',
  '```text',
  'ok … done',
  '```',
  '<!-- exit: 2 -->',
  '```sh',
  'false',
  '```',
  '<!-- background: until "ready" -->',
  '```sh',
  'serve',
  '```',
  '<!-- ctrl-c -->',
  '<!-- output -->',
  '```text',
  'stopped.',
  '```',
].join('\n');

describe('docSteps', () => {
  it('reads files, commands, exit codes, background commands, Ctrl-C and shown output, in order', () => {
    expect(docSteps(page)).toEqual([
      { kind: 'file', path: 'src/a.ts', content: '// src/a.ts\nexport const a = 1;\n' },
      { kind: 'run', script: 'cd x && npm test', exit: 0, output: ['ok … done'] },
      { kind: 'run', script: 'false', exit: 2 },
      { kind: 'run', script: 'serve', exit: 0, until: 'ready' },
      { kind: 'ctrl-c', output: ['stopped.'] },
    ]);
  });

  it('refuses shown output that follows no command, and a background marker without its text', () => {
    expect(() => docSteps('<!-- output -->\n```text\nx\n```')).toThrow(/follows no command/);
    expect(() => docSteps('<!-- background -->\n```sh\nserve\n```')).toThrow(/until "text"/);
  });
});

describe('missingLine', () => {
  it('finds each shown line in order, … for anything, any run of spaces for a run of spaces', () => {
    const out = 'VERSION  TYPE       DATA\n1        deposited  {"amount":100}\nnoise\nok  acc-1 at version 2  command 9f3c\n';
    expect(missingLine(['VERSION  TYPE  DATA', '1 deposited {"amount":100}', 'ok  acc-1 at version 2  command …'], out)).toBeUndefined();
    expect(missingLine(['ok  acc-1 at version 2  command …', 'VERSION  TYPE  DATA'], out)).toBe('VERSION  TYPE  DATA');
    expect(missingLine(['1 deposited {"amount":10}'], out)).toBe('1 deposited {"amount":10}');
    expect(missingLine(['(a+b)*'], '(a+b)*')).toBeUndefined();
  });
});
