// Loads each app path given on the command line with loadApp, in a process started the way the
// services start (node --conditions=source --import tsx), and prints one JSON line per path.
import { AppLoadError } from '@ratchet/app';
import { loadApp } from '@ratchet/app/load';

for (const path of process.argv.slice(2)) {
  try {
    const { app, file } = await loadApp(path);
    process.stdout.write(`${JSON.stringify({ path, ok: true, file, name: app.name, aggregates: app.aggregates.map((a) => a.type) })}\n`);
  } catch (error) {
    const e = error as AppLoadError;
    process.stdout.write(
      `${JSON.stringify({ path, ok: false, typed: error instanceof AppLoadError, name: e.name, code: e.code, reason: e.reason, file: e.file, message: e.message, issues: e.issues, retryable: e.retryable })}\n`,
    );
  }
}
