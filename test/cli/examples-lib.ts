/**
 * The documented `usbms` examples and how to run one of them as a user would: extraction from the
 * READMEs and `usbms --help`, and a runner (bash, or a pseudo-terminal when the example prompts, with an
 * optional Ctrl-C). Shared by the simulator suite (examples.test.ts) and the HIL suite, which runs the
 * same examples inside the QEMU guest against a real device (test/hil/guest/cli-examples.ts).
 * Node built-ins only: this file is bundled for the guest.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const EXAMPLE_DOCS = ['README.md', 'packages/node/README.md'] as const;

/** `usbms ...` lines of the fenced code blocks made only of such lines; trailing `# comments` dropped. */
export function examplesOfMarkdown(markdown: string): string[] {
  const out: string[] = [];
  for (const block of markdown.matchAll(/^```[a-z]*\n([\s\S]*?)^```/gm)) {
    const lines = (block[1] ?? '').split('\n').filter((l) => l.trim() !== '');
    if (lines.length > 0 && lines.every((l) => l.startsWith('usbms '))) out.push(...lines.map(stripComment));
  }
  return out;
}

/** The lines under "Examples:" of `usbms --help`. */
export function examplesOfHelp(help: string): string[] {
  const section = help.split(/^Examples:\n/m)[1] ?? '';
  return section
    .split(/\n\s*\n/)[0]
    ?.split('\n')
    .map((l) => stripComment(l.trim()))
    .filter((l) => l.startsWith('usbms ')) as string[];
}

function stripComment(line: string): string {
  return line.replace(/\s+#\s.*$/, '').trimEnd();
}

/** When to press Ctrl-C: once the output contains the text, or once a dump's `.partial.json` records progress. */
export type Interrupt = { output: string } | { partial: string };

/** How to run one example (serializable: it crosses into the HIL guest). */
export interface ExampleRun {
  /** Answer to a confirmation prompt, typed through a pseudo-terminal. */
  pty?: string;
  /** Send SIGINT once this holds (polled every 50 ms). */
  interrupt?: Interrupt;
}

export interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function interruptHolds(interrupt: Interrupt, dir: string, output: string): boolean {
  if ('output' in interrupt) return output.includes(interrupt.output);
  try {
    return (JSON.parse(readFileSync(join(dir, interrupt.partial), 'utf8')) as { doneBlocks: number }).doneBlocks > 0;
  } catch {
    return false;
  }
}

/**
 * Runs `command` with bash in `dir` (through script(1) on a pseudo-terminal when it prompts), answering the
 * prompt and pressing Ctrl-C as `run` says. `env` must put a `usbms` on PATH.
 */
export function runExample(command: string, dir: string, run: ExampleRun, env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<Outcome> {
  const argv = run.pty === undefined ? ['bash', ['-c', command]] : ['script', ['-qfec', command, '/dev/null']];
  const child = spawn(argv[0] as string, argv[1] as string[], { cwd: dir, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  if (run.pty !== undefined) {
    const answer = setInterval(() => {
      if (stdout.includes('Type "yes"')) {
        child.stdin.write(`${run.pty}\r`);
        clearInterval(answer);
      }
    }, 50);
    child.on('close', () => clearInterval(answer));
  } else child.stdin.end();
  let interrupted = false;
  const interrupt = run.interrupt;
  const poll =
    interrupt === undefined
      ? undefined
      : setInterval(() => {
          if (!interrupted && interruptHolds(interrupt, dir, stdout + stderr)) {
            interrupted = true;
            // bash -c execs a lone command, and the shim execs node: the child is usbms itself.
            child.kill('SIGINT');
          }
        }, 50);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`example timed out: ${command}\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (poll !== undefined) clearInterval(poll);
      resolve({ code, stdout: stdout.replace(/\r\n/g, '\n'), stderr });
    });
  });
}
