import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDemoLogger, readableLine } from './demo-logger.js';

const dir = mkdtempSync(join(tmpdir(), 'ratchet-demo-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('createDemoLogger on a terminal', () => {
  it('writes every line as JSON to demo.log and only warnings and errors, readable, to the terminal', () => {
    let terminal = '';
    const { log, file } = createDemoLogger({ level: 'info', logDir: dir, tty: true, terminal: { write: (t: string) => (terminal += t) } });
    log.info({ sent: 10, ok: 9 }, 'progress');
    log.warn({ worker: 'demo-worker-1', pid: 42 }, 'worker exited');
    log.error({ err: new Error('connect ECONNREFUSED 127.0.0.1:5432\n    at stack') }, 'refresh failed');
    log.flush();
    expect(file).toBe(join(dir, 'demo.log'));
    const json = readFileSync(file!, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string });
    expect(json.map((l) => l.msg)).toEqual(['progress', 'worker exited', 'refresh failed']);
    expect(terminal).toBe('warning: worker exited (worker=demo-worker-1)\nerror: refresh failed: connect ECONNREFUSED 127.0.0.1:5432\n');
  });
});

describe('readableLine', () => {
  it('keeps the message, the component and the fields, drops time, pid and stack', () => {
    const line = JSON.stringify({
      level: 40,
      time: 1,
      pid: 7,
      hostname: 'h',
      service: 'demo',
      component: 'worker',
      msg: 'lease lapsed',
      partition: 3,
    });
    expect(readableLine(line)).toBe('warning: worker: lease lapsed (partition=3)');
    expect(readableLine('not json\n')).toBe('not json');
  });
});
