// The `ratchet` process: run the CLI, then exit with its code (an open handle must not keep a
// finished command alive; stdout and stderr writes to pipes and files are synchronous).
import { runCli } from './run-cli.js';

const code = await runCli(process.argv.slice(2));
process.exit(code);
