import { ValidationError } from '@ratchet/core';
import { describe, expect, it } from 'vitest';
import { defineTurnstileApp } from './define-turnstile-app.js';
import { turnstileProjectionVersions } from './turnstile-projection-versions.js';

describe('turnstileProjectionVersions', () => {
  it('runs v1 unless told otherwise, and both while v2 is rebuilt', () => {
    expect(turnstileProjectionVersions({})).toEqual([1]);
    expect(turnstileProjectionVersions({ TURNSTILE_PROJECTION_VERSIONS: '' })).toEqual([1]);
    expect(turnstileProjectionVersions({ TURNSTILE_PROJECTION_VERSIONS: '1,2' })).toEqual([1, 2]);
    expect(turnstileProjectionVersions({ TURNSTILE_PROJECTION_VERSIONS: '2,2' })).toEqual([2]);
  });

  it.each(['3', '1;2', 'v1', '1,'])('refuses %s, naming the variable', (value) => {
    expect(() => turnstileProjectionVersions({ TURNSTILE_PROJECTION_VERSIONS: value })).toThrow(ValidationError);
    expect(() => turnstileProjectionVersions({ TURNSTILE_PROJECTION_VERSIONS: value })).toThrow(
      /^invalid configuration: TURNSTILE_PROJECTION_VERSIONS: comma-separated versions among 1, 2/,
    );
  });
});

describe('defineTurnstileApp', () => {
  it('is the turnstile and the station, the turnstile projection versions asked for, the stations and the technician dispatch', () => {
    const app = defineTurnstileApp({ projectionVersions: [1, 2] });
    expect(app.name).toBe('turnstile');
    expect(app.aggregates.map((a) => a.type)).toEqual(['turnstile', 'station']);
    expect(app.projections.map((p) => p.key)).toEqual(['turnstile@v1', 'turnstile@v2', 'stations@v1']);
    expect(app.processes.map((p) => p.name)).toEqual(['technician-dispatch']);
    expect(defineTurnstileApp().projections.map((p) => p.key)).toEqual(['turnstile@v1', 'stations@v1']);
  });
});
