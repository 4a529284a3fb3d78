import { runTrigger, toProcessEvent, type CommandAnswer, type Dispatch } from '@ratchet/process';
import { stationOf } from '@ratchet/station';
import { describe, expect, it } from 'vitest';
import { stationVisitTimeoutMs } from './station-visit-timeout.js';
import { technicianDispatch } from './technician-dispatch.js';

const at = (type: string, version: number, id = 't-0007') =>
  toProcessEvent({
    streamId: `turnstile/${id}`,
    version,
    type,
    data: {},
    schemaVersion: 1,
    metadata: {},
    globalPosition: version,
    transactionId: '1',
    recordedAt: new Date(0),
    epoch: null,
  });

/** Run a turnstile's events through the dispatch; every command gets `answer`. */
async function run(types: readonly string[], answer: CommandAnswer) {
  const sent: string[] = [];
  const dispatch: Dispatch = async (id, c) => {
    sent.push(`${id} → ${c.aggregateType}/${c.aggregateId} ${c.command.type} ${JSON.stringify(c.command.payload)}`);
    return answer;
  };
  let state = JSON.stringify(technicianDispatch.initialState);
  for (const [i, type] of types.entries()) {
    const r = await runTrigger(technicianDispatch, at(type, i + 2), state, dispatch, { maxRounds: 8 });
    if (r.kind !== 'handled') throw new Error(r.error);
    state = r.state;
  }
  return { sent, state: JSON.parse(state) as unknown };
}

const ok: CommandAnswer = { outcome: 'ok', version: 1 };
const push = 'armPushedIneffectively';

describe('technicianDispatch', () => {
  it("calls the turnstile's station at the third ineffective push in a row, and again at the sixth", async () => {
    const r = await run([push, push, push, push, push, push], ok);
    expect(r.sent).toEqual([
      `proc:technician-dispatch:turnstile:t-0007:4:call-technician → station/${stationOf('t-0007')} callTechnician {"turnstileId":"t-0007"}`,
      `proc:technician-dispatch:turnstile:t-0007:7:call-technician → station/${stationOf('t-0007')} callTechnician {"turnstileId":"t-0007"}`,
    ]);
    expect(r.state).toEqual({ inARow: 0, calls: 2, refused: 0 });
  });

  it('does not call when a coin or a passage breaks the row', async () => {
    expect((await run([push, push, 'coinInserted', push, push, 'armTurned', push, push], ok)).sent).toEqual([]);
  });

  it('counts a call the station refused (a technician is already on the way)', async () => {
    const r = await run([push, push, push], { outcome: 'rejected', reason: 'a technician is already called (for t-0001)', version: 1 });
    expect(r.state).toEqual({ inARow: 0, calls: 1, refused: 1 });
  });
});

describe('stationVisitTimeoutMs', () => {
  it('is 20 s unless STATION_VISIT_TIMEOUT_MS says otherwise, and refuses a bad value by name', () => {
    expect(stationVisitTimeoutMs({})).toBe(20_000);
    expect(stationVisitTimeoutMs({ STATION_VISIT_TIMEOUT_MS: '1500' })).toBe(1_500);
    expect(() => stationVisitTimeoutMs({ STATION_VISIT_TIMEOUT_MS: '5s' })).toThrow(/^invalid configuration: STATION_VISIT_TIMEOUT_MS/);
  });
});
