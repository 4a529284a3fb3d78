import { command, defineProcess, eventsOf } from '@ratchet/process';
import { Station, stationOf } from '@ratchet/station';
import { Turnstile } from '@ratchet/turnstile';

/** What the dispatch remembers per turnstile. */
export interface DispatchState {
  /** Ineffective pushes in a row (any other event of the turnstile resets it). */
  readonly inARow: number;
  /** Technicians called for this turnstile. */
  readonly calls: number;
  /** Calls the station refused: a technician was already on the way. */
  readonly refused: number;
}

/** Ineffective pushes in a row that call a technician. */
export const PUSHES_BEFORE_CALL = 3;

/**
 * The turnstile app's process manager: a turnstile whose arm is pushed without effect three times
 * in a row (riders who keep trying a locked arm) calls a technician to its station. One instance per
 * turnstile (the default correlation by stream); the turnstile's rules are untouched, the process
 * only reads its events. A station already visited refuses the call; the refusal is counted, not
 * compensated: the technician on the way will see that turnstile too.
 * @example
 * defineApp({ name: 'turnstile', aggregates: [Turnstile, Station], processes: [technicianDispatch] });
 */
export const technicianDispatch = defineProcess({
  name: 'technician-dispatch',
  subscribe: [eventsOf(Turnstile, 'armPushedIneffectively', 'armTurned', 'coinInserted')],
  initialState: { inARow: 0, calls: 0, refused: 0 } as DispatchState,
  handle(event, state) {
    if (event.type !== 'armPushedIneffectively') return state.inARow === 0 ? {} : { state: { ...state, inARow: 0 } };
    if (state.inARow + 1 < PUSHES_BEFORE_CALL) return { state: { ...state, inARow: state.inARow + 1 } };
    return {
      state: { ...state, inARow: 0, calls: state.calls + 1 },
      commands: [
        command(
          Station,
          stationOf(event.aggregateId),
          { type: 'callTechnician', payload: { turnstileId: event.aggregateId } },
          'call-technician',
        ),
      ],
    };
  },
  onRejected: (_rejection, state) => ({ state: { ...state, refused: state.refused + 1 } }),
});
