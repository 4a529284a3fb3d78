#!/usr/bin/env node
// The `ratchet-check` command: runs the history checker's TypeScript source with tsx (runSource),
// so no build step is needed.
import { fileURLToPath } from 'node:url';
import { runSource } from '@ratchet/launchers/run-source';

runSource('ratchet-check', fileURLToPath(new URL('../src/main.ts', import.meta.url)));
