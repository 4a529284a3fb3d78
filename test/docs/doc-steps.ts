// Reads a tutorial in docs/ as the steps a test runs, so the page and the test cannot drift: the
// files it shows are written from its code blocks, its commands are run as they are printed, and
// the output it shows is checked against what they print.
//
// Conventions in the Markdown (the HTML comments do not render):
//   a code block whose first line is `// <path>` or `# <path>`  → a file, written there as shown
//   a ```sh block                                                → commands, run in one shell; exit 0
//   <!-- exit: N --> before a ```sh block                        → it must exit with N instead
//   <!-- background: until "text" --> before a ```sh block       → started in a process group of its
//                                                                   own; ready once its output has "text"
//   <!-- ctrl-c -->                                              → Ctrl-C for the background command
//   <!-- output --> before a ```text block                       → what the step before prints: each
//                                                                   line, in order; `…` stands for anything

/** A file the page shows. */
export interface FileStep {
  readonly kind: 'file';
  readonly path: string;
  readonly content: string;
}

/** Commands the page gives. */
export interface RunStep {
  readonly kind: 'run';
  readonly script: string;
  /** The exit code it must end with. */
  readonly exit: number;
  /** Runs on while the next steps do, ready once its output has this text. */
  readonly until?: string;
  /** Lines its output must have, in order (`…` = anything). */
  output?: readonly string[];
}

/** Ctrl-C for the command running in the background. */
export interface CtrlCStep {
  readonly kind: 'ctrl-c';
  output?: readonly string[];
}

/** One step of a tutorial. */
export type DocStep = FileStep | RunStep | CtrlCStep;

const FENCE = /^```(\w*)\s*$/;
const MARKER = /^<!--\s*(exit|background|ctrl-c|output)\s*(?::\s*(.*?))?\s*-->\s*$/;
const FILE_LINE = /^(?:\/\/|#)\s+(\S+\.\w+)\s*$/;

/** The steps of a Markdown page, in order; throws on a marker that has nothing to apply to. */
export function docSteps(markdown: string): DocStep[] {
  const lines = markdown.split('\n');
  const steps: DocStep[] = [];
  let pending: { marker: string; value: string | undefined; line: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const marker = MARKER.exec(line);
    if (marker !== null) {
      if (marker[1] === 'ctrl-c') steps.push({ kind: 'ctrl-c' });
      else pending = { marker: marker[1]!, value: marker[2], line: i + 1 };
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence === null || fence[1] === '') continue;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]!);
    const language = fence[1]!;
    const file = FILE_LINE.exec(body[0] ?? '');
    if (pending?.marker === 'output') {
      const last = steps.at(-1);
      if (last === undefined || last.kind === 'file') throw new Error(`line ${pending.line}: <!-- output --> follows no command`);
      last.output = body;
    } else if (language === 'sh') {
      const until = pending?.marker === 'background' ? /^until\s+"(.+)"$/.exec(pending.value ?? '')?.[1] : undefined;
      if (pending?.marker === 'background' && until === undefined)
        throw new Error(`line ${pending.line}: write <!-- background: until "text" -->`);
      const exit = pending?.marker === 'exit' ? Number(pending.value) : 0;
      steps.push({ kind: 'run', script: body.join('\n'), exit, ...(until === undefined ? {} : { until }) });
    } else if (file !== null) {
      steps.push({ kind: 'file', path: file[1]!, content: `${body.join('\n')}\n` });
    }
    pending = undefined;
  }
  return steps;
}

/**
 * Whether `actual` has every line of `expected`, in order (other lines may come between): a line's
 * `…` matches anything and its runs of spaces match any run of spaces (tables align to their
 * data). Resolves to the first expected line not found, or undefined when all are.
 */
export function missingLine(expected: readonly string[], actual: string): string | undefined {
  const lines = actual.split('\n').map((l) => l.trimEnd());
  let at = 0;
  for (const want of expected) {
    const pattern = new RegExp(
      `^${want
        .trimEnd()
        .split('…')
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/ +/g, ' +'))
        .join('.*')}$`,
    );
    const found = lines.findIndex((l, i) => i >= at && pattern.test(l));
    if (found === -1) return want;
    at = found + 1;
  }
  return undefined;
}
