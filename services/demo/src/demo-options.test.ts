import { describe, expect, it } from 'vitest';
import { demoHelp, DemoUsage, parseDemoOptions } from './demo-options.js';

function usage(argv: string[]): DemoUsage {
  try {
    parseDemoOptions(argv);
  } catch (error) {
    if (error instanceof DemoUsage) return error;
    throw error;
  }
  throw new Error(`parsed ${argv.join(' ')}`);
}

describe('parseDemoOptions', () => {
  it('reads the flags with their defaults', () => {
    const o = parseDemoOptions(['--headless', '--duration', '10', '--skew', '0.5']);
    expect(o).toMatchObject({ headless: true, duration: 10, skew: 0.5, workers: 3, turnstiles: 1_000, port: 8090 });
  });

  it('names every bad flag, with exit code 2 and where the flags are listed', () => {
    expect(() => parseDemoOptions(['--skew', '2', '--workers', '0'])).toThrow(/--skew[\s\S]*--workers/);
    expect(usage(['--log-level', 'loud'])).toMatchObject({ exitCode: 2, message: expect.stringMatching(/^--log-level: /) });
    const bogus = usage(['--bogus']);
    expect(bogus.exitCode).toBe(2);
    expect(bogus.message).toBe('unknown flag --bogus\nRun `npm run demo -- --help` for the flags.');
    expect(usage(['stray']).message).toMatch(/^unexpected argument "stray": the demo takes flags only/);
  });

  it('answers --help with every flag and exit code 0', () => {
    for (const argv of [['--help'], ['-h'], ['--headless', '--help']]) {
      const help = usage(argv);
      expect(help.exitCode).toBe(0);
      expect(help.message).toBe(demoHelp());
    }
    for (const flag of ['--headless', '--duration', '--turnstiles', '--riders', '--rate', '--skew', '--workers', '--port', '--fresh', '--log-level', '--help']) {
      expect(demoHelp()).toContain(flag);
    }
  });
});
