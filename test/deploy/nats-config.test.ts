// The NATS node configs (with accounts.conf) are valid for a real nats-server, tested with
// `nats-server -c <file> -t`. nats-server 2.9 (the build machines') does not know
// `sync_interval`, so there the option is stripped from a copy first — and the test asserts 2.9
// does refuse the original, which is what the comment in each file claims.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable } from '@ratchet/launchers';
import { afterAll, describe, expect, it } from 'vitest';

const found = findExecutable('nats-server', ['/usr/sbin', '/usr/local/bin', '/usr/local/sbin']);
if (found === undefined)
  throw new Error(
    'nats-server not found on PATH or in /usr/sbin, /usr/local/bin: the NATS config tests need it (apt-get install nats-server)',
  );
const binary: string = found;
const version = /v?(\d+)\.(\d+)/.exec(execFileSync(binary, ['--version'], { encoding: 'utf8' }))!;
const hasSyncInterval = Number(version[1]) > 2 || Number(version[2]) >= 10;
const env = {
  ...process.env,
  NATS_CLIENT_PASSWORD: 'c',
  NATS_WORKER_PASSWORD: 'w',
  NATS_PROJECTOR_PASSWORD: 'p',
  NATS_DASHBOARD_PASSWORD: 'd',
  NATS_OPERATOR_PASSWORD: 'o',
  NATS_SYS_PASSWORD: 's',
};
const dir = mkdtempSync(join(tmpdir(), 'ratchet-nats-conf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function testConfig(file: string) {
  return spawnSync(binary, ['-c', file, '-t'], { env, encoding: 'utf8' });
}

describe.each([1, 2, 3])('deploy/nats/nats-%i.conf', (i) => {
  it(`is a valid config for nats-server ${version[0]}`, () => {
    const original = `deploy/nats/nats-${i}.conf`;
    const text = readFileSync(original, 'utf8');
    expect(text).toMatch(/^\s*sync_interval: always$/m);
    expect(text).toMatch(/^include \.\/accounts\.conf$/m);
    copyFileSync('deploy/nats/accounts.conf', join(dir, 'accounts.conf'));
    const copy = join(dir, `nats-${i}.conf`);
    writeFileSync(copy, hasSyncInterval ? text : text.replace(/^\s*sync_interval: always\n/m, ''));
    const result = testConfig(copy);
    expect(result.status, result.stderr + result.stdout).toBe(0);
    if (!hasSyncInterval) {
      const refused = testConfig(original);
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toContain('sync_interval');
    }
  });
});

it('accounts.conf defines one user per service', () => {
  const text = readFileSync('deploy/nats/accounts.conf', 'utf8');
  for (const user of ['client', 'worker', 'projector', 'dashboard', 'operator']) expect(text).toMatch(new RegExp(`user: ${user}\\n`));
  // Projectors consume events and send their process managers' commands: never publish events.
  const projector = text.slice(text.indexOf('user: projector'), text.indexOf('user: dashboard'));
  expect(projector).toContain('deny: ["ratchet.evt.>"]');
  expect(projector.match(/"ratchet\.[^"]*"/g)).toEqual(['"ratchet.cmd.>"', '"ratchet.evt.>"']);
});
