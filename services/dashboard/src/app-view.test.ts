import { defineApp } from '@ratchet/app';
import { defineTurnstileApp } from '@ratchet/turnstile-app';
import { describe, expect, it } from 'vitest';
import { appView } from './app-view.js';

describe('appView', () => {
  it('shows the turnstile panels for the turnstile app', () => {
    expect(appView(defineTurnstileApp())).toEqual({
      name: 'turnstile',
      aggregateTypes: ['turnstile', 'station'],
      turnstile: true,
      stations: true,
      processes: ['technician-dispatch'],
    });
  });

  it('shows only the generic panels without the turnstile read model, even with the turnstile aggregate', () => {
    const gates = defineApp({ name: 'gates', aggregates: defineTurnstileApp().aggregates });
    expect(appView(gates)).toEqual({
      name: 'gates',
      aggregateTypes: ['turnstile', 'station'],
      turnstile: false,
      stations: false,
      processes: [],
    });
  });
});
