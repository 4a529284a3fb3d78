import { ErrorCode, RatchetError, type SensitivePathStep } from '@ratchet/core';
import { sealedEnvelopeOf, type SealedEnvelope } from './sealed-value.js';

/** A concrete place in an event's data: object keys and array indexes. */
export type DataPath = ReadonlyArray<string | number>;

const MAX_DEPTH = 64;

/** Every value at a schema path (arrays expanded), with its concrete path; missing, undefined and null values are left out. */
export function valuesAt(data: unknown, path: readonly SensitivePathStep[]): Array<{ readonly path: DataPath; readonly value: unknown }> {
  const out: Array<{ path: DataPath; value: unknown }> = [];
  const visit = (value: unknown, i: number, at: Array<string | number>): void => {
    if (value === undefined || value === null) return;
    if (i === path.length) {
      out.push({ path: at, value });
      return;
    }
    const step = path[i];
    if (step === null) {
      if (Array.isArray(value)) {
        value.forEach((item, index) => {
          visit(item, i + 1, [...at, index]);
        });
      }
    } else if (step !== undefined && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, step)) {
      visit((value as Record<string, unknown>)[step], i + 1, [...at, step]);
    }
  };
  visit(data, 0, []);
  return out;
}

/** Every sealed value in `data`, wherever it is (opening needs no schema). */
export function envelopesIn(data: unknown): Array<{ readonly path: DataPath; readonly envelope: SealedEnvelope }> {
  const out: Array<{ path: DataPath; envelope: SealedEnvelope }> = [];
  const visit = (value: unknown, at: Array<string | number>, depth: number): void => {
    if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return;
    if (Array.isArray(value)) {
      value.forEach((item, index) => {
        visit(item, [...at, index], depth + 1);
      });
      return;
    }
    const envelope = sealedEnvelopeOf(value);
    if (envelope !== undefined) {
      out.push({ path: at, envelope });
      return;
    }
    for (const [key, item] of Object.entries(value)) visit(item, [...at, key], depth + 1);
  };
  visit(data, [], 0);
  return out;
}

/** A copy of `data` with the values at the given paths replaced (the rest shared, not copied). */
export function withValues(data: unknown, replacements: ReadonlyArray<{ readonly path: DataPath; readonly value: unknown }>): unknown {
  let root = data;
  for (const { path, value } of replacements) root = setAt(root, path, 0, value);
  return root;
}

function setAt(node: unknown, path: DataPath, i: number, value: unknown): unknown {
  if (i === path.length) return value;
  const step = path[i];
  if (step === undefined) throw new RatchetError(ErrorCode.INTERNAL, `data path step ${i} of ${path.length} is missing`);
  if (Array.isArray(node)) {
    const copy = [...node];
    copy[step as number] = setAt(node[step as number], path, i + 1, value);
    return copy;
  }
  const record = node as Record<string, unknown>;
  return { ...record, [step]: setAt(record[step as string], path, i + 1, value) };
}
