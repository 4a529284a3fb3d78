import type { ValidationIssue } from '@ratchet/core';
import { isProcess, type AnyProcess } from '@ratchet/process';

// Checked at run time because app modules are loaded by path, often written in plain JavaScript,
// and a circular import hands defineApp `undefined` where an aggregate should be: the compiler
// cannot vouch for any of it.

const APP_NAME = /^[a-z][a-z0-9-]{0,63}$/;
const KNOWN_KEYS = new Set(['name', 'aggregates', 'projections', 'processes']);

type Issues = ValidationIssue[];
type Path = ReadonlyArray<string | number>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined (a circular import, or a name that is not exported?)';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `an object with keys ${Object.keys(value).slice(0, 6).join(', ') || '(none)'}`;
  return `a ${typeof value}`;
}

/** What the runtimes use of an aggregate; anything `defineAggregate` returned has all of it. */
function isAggregate(value: unknown): value is { type: string } {
  if (!isRecord(value) || typeof value.type !== 'string') return false;
  const runtime = value.runtime;
  return (
    isRecord(value.commands) &&
    isRecord(value.events) &&
    typeof value.replay === 'function' &&
    typeof value.initialState === 'function' &&
    isRecord(runtime) &&
    typeof runtime.parseCommand === 'function' &&
    typeof runtime.decideParsed === 'function'
  );
}

/** What the projector uses of a projection; anything `defineProjection` returned has all of it. */
function isProjection(value: unknown): value is { name: string; version: number; key: string; tables: readonly string[] } {
  return (
    isRecord(value) &&
    typeof value.name === 'string' &&
    typeof value.version === 'number' &&
    typeof value.key === 'string' &&
    typeof value.consumerName === 'string' &&
    Array.isArray(value.tables) &&
    typeof value.setup === 'function' &&
    isRecord(value.handlers) &&
    isRecord(value.tableNames)
  );
}

function aggregateIssues(aggregates: unknown, path: Path): Issues {
  if (!Array.isArray(aggregates)) return [{ path, message: `must be a list of aggregates (got ${describe(aggregates)})` }];
  if (aggregates.length === 0) return [{ path, message: 'list at least one aggregate' }];
  const issues: Issues = [];
  const first = new Map<string, number>();
  aggregates.forEach((aggregate: unknown, i) => {
    if (!isAggregate(aggregate)) {
      issues.push({ path: [...path, i], message: `not an aggregate made by defineAggregate (got ${describe(aggregate)})` });
      return;
    }
    const seen = first.get(aggregate.type);
    if (seen === undefined) first.set(aggregate.type, i);
    else
      issues.push({
        path: [...path, i, 'type'],
        message: `aggregate type "${aggregate.type}" is listed twice (also at ${path.join('.')}.${seen})`,
      });
  });
  return issues;
}

function projectionIssues(projections: unknown, path: Path): Issues {
  if (projections === undefined) return [];
  if (!Array.isArray(projections)) return [{ path, message: `must be a list of projections (got ${describe(projections)})` }];
  const issues: Issues = [];
  const keys = new Map<string, number>();
  // Each table base name is a stable view that readers query: two projections (by name) must not
  // both claim one. Versions of one projection share their tables by design.
  const tableOwner = new Map<string, { name: string; index: number }>();
  projections.forEach((projection: unknown, i) => {
    if (!isProjection(projection)) {
      issues.push({ path: [...path, i], message: `not a projection made by defineProjection (got ${describe(projection)})` });
      return;
    }
    const seen = keys.get(projection.key);
    if (seen !== undefined) {
      issues.push({ path: [...path, i], message: `projection ${projection.key} is listed twice (also at ${path.join('.')}.${seen})` });
      return;
    }
    keys.set(projection.key, i);
    for (const table of projection.tables) {
      const owner = tableOwner.get(table);
      if (owner === undefined) tableOwner.set(table, { name: projection.name, index: i });
      else if (owner.name !== projection.name) {
        issues.push({
          path: [...path, i, 'tables'],
          message: `table "${table}" is also declared by projection "${owner.name}" (${path.join('.')}.${owner.index}); their views would clash`,
        });
      }
    }
  });
  return issues;
}

function processIssues(processes: unknown, aggregates: unknown, path: Path): Issues {
  if (processes === undefined) return [];
  if (!Array.isArray(processes)) return [{ path, message: `must be a list of processes (got ${describe(processes)})` }];
  const events = new Map<string, Set<string>>();
  if (Array.isArray(aggregates)) {
    for (const a of aggregates) if (isAggregate(a)) events.set(a.type, new Set(Object.keys((a as unknown as { events: object }).events)));
  }
  const issues: Issues = [];
  const names = new Map<string, number>();
  processes.forEach((process: unknown, i) => {
    if (!isProcess(process)) {
      issues.push({ path: [...path, i], message: `not a process made by defineProcess (got ${describe(process)})` });
      return;
    }
    const p: AnyProcess = process;
    const seen = names.get(p.name);
    // Two processes of one name would share a consumer, positions and command ids.
    if (seen !== undefined)
      issues.push({ path: [...path, i, 'name'], message: `process "${p.name}" is listed twice (also at ${path.join('.')}.${seen})` });
    else names.set(p.name, i);
    p.subscribe.forEach((s, j) => {
      const known = events.get(s.aggregateType);
      if (known === undefined) {
        issues.push({
          path: [...path, i, 'subscribe', j],
          message: `aggregate type "${s.aggregateType}" is not one of the app's aggregates`,
        });
        return;
      }
      for (const e of s.events) {
        if (!known.has(e))
          issues.push({ path: [...path, i, 'subscribe', j, 'events'], message: `"${e}" is not an event of ${s.aggregateType}` });
      }
    });
  });
  return issues;
}

/**
 * Every problem with an app definition, in order; empty when `defineApp` may accept it.
 * @example
 * appIssues({ name: 'shop', aggregates: [Order, Order] }); // [{ path: ['aggregates', 1, 'type'], message: '… listed twice …' }]
 */
export function appIssues(config: unknown): ValidationIssue[] {
  if (!isRecord(config)) return [{ path: [], message: `give defineApp an object (got ${describe(config)})` }];
  const issues: Issues = [];
  const name = config.name;
  if (typeof name !== 'string' || !APP_NAME.test(name)) {
    issues.push({
      path: ['name'],
      message: `must match ${APP_NAME.source} (got ${typeof name === 'string' ? JSON.stringify(name) : describe(name)})`,
    });
  }
  for (const key of Object.keys(config)) {
    if (!KNOWN_KEYS.has(key)) issues.push({ path: [key], message: `unknown key (an app has ${[...KNOWN_KEYS].join(', ')})` });
  }
  issues.push(...aggregateIssues(config.aggregates, ['aggregates']));
  issues.push(...projectionIssues(config.projections, ['projections']));
  issues.push(...processIssues(config.processes, config.aggregates, ['processes']));
  return issues;
}
