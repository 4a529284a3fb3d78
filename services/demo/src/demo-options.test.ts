import { describe, expect, it } from 'vitest';
import { demoHelp, DemoUsage, parseDemoOptions } from './demo-options.js';

function usage(argv: string[], env: Record<string, string> = {}): DemoUsage {
  try {
    parseDemoOptions(argv, env);
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
    expect(bogus.message).toBe('unknown flag --bogus\nRun `ratchet dev --help` (or `npm run demo -- --help`) for the flags.');
    expect(usage(['one', 'two']).message).toMatch(/^unexpected argument "two": give one app \(a module or a project directory\)/);
  });

  it("takes one app, and refuses the riders' flags with it (an app has no riders)", () => {
    expect(parseDemoOptions(['examples/bookstore', '--workers', '2'], {})).toMatchObject({
      app: 'examples/bookstore',
      workers: 2,
      gatewayPort: 8082,
      webPort: 8088,
    });
    expect(parseDemoOptions([]).app).toBeUndefined();
    const riders = usage(['src/app.ts', '--riders', '4', '--headless']);
    expect(riders).toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/^--headless, --riders: for the turnstile demo only \(no app\)/),
    });
  });

  it('takes the ports from RATCHET_DASHBOARD_PORT, RATCHET_GATEWAY_PORT and RATCHET_WEB_PORT unless a flag gives them', () => {
    const env = { RATCHET_DASHBOARD_PORT: '0', RATCHET_GATEWAY_PORT: '18082', RATCHET_WEB_PORT: '18088' };
    expect(parseDemoOptions([], env)).toMatchObject({ port: 0, gatewayPort: 18082, webPort: 18088 });
    expect(parseDemoOptions(['--gateway-port', '9000'], env)).toMatchObject({ gatewayPort: 9000 });
    expect(usage(['--port', '1'], { RATCHET_GATEWAY_PORT: 'x' }).message).toMatch(/^--gateway-port \(from \$RATCHET_GATEWAY_PORT\): /);
  });

  it('answers --help with every flag and exit code 0', () => {
    for (const argv of [['--help'], ['-h'], ['--headless', '--help']]) {
      const help = usage(argv);
      expect(help.exitCode).toBe(0);
      expect(help.message).toBe(demoHelp());
    }
    for (const flag of [
      '--headless',
      '--duration',
      '--turnstiles',
      '--riders',
      '--rate',
      '--skew',
      '--workers',
      '--port',
      '--gateway-port',
      '--web-port',
      '--fresh',
      '--log-level',
      '--help',
    ]) {
      expect(demoHelp()).toContain(flag);
    }
  });
});
