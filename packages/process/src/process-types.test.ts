import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// The typed API is checked by the compiler, not at run time: compile this package's sources and
// test fixtures (tsconfig.check.json) and expect no diagnostic. test/fixtures/typed-process.ts marks
// each line that must not compile with @ts-expect-error, which is itself an error when the line
// compiles: a wrong event name, command name, payload or state type that slipped through fails here.
describe('typed processes', () => {
  it('refuse an unknown event or command name, a bad payload and a state of another type', () => {
    const configPath = fileURLToPath(new URL('../tsconfig.check.json', import.meta.url));
    const parsed = ts.getParsedCommandLineOfConfigFile(
      configPath,
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
        },
      },
    );
    if (parsed === undefined) throw new Error(`cannot read ${configPath}`);
    const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
    expect(parsed.fileNames.some((f) => f.endsWith('test/fixtures/typed-process.ts'))).toBe(true);
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
      const where =
        d.file === undefined || d.start === undefined
          ? ''
          : `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: `;
      return `${where}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(diagnostics).toEqual([]);
  });
});
