import { performance } from 'node:perf_hooks';
import type { Progress } from '../ports.ts';

/** Step-by-step progress on stderr, so stdout stays clean for `--json`. */
export class ConsoleProgress implements Progress {
  constructor(
    private readonly stream: NodeJS.WritableStream = process.stderr,
    private readonly quiet = false,
  ) {}

  async step<T>(title: string, work: (note: (line: string) => void) => Promise<T>): Promise<T> {
    const started = performance.now();
    this.write(`▸ ${title}…`);
    const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;
    try {
      const result = await work((line) => this.write(`  │ ${line}`));
      this.write(`✔ ${title} (${elapsed()})`);
      return result;
    } catch (error) {
      this.write(`✖ ${title} (${elapsed()})`);
      throw error;
    }
  }

  private write(line: string): void {
    if (!this.quiet) this.stream.write(`${line}\n`);
  }
}

/** Progress that shows nothing, for tests and scripts. */
export const silentProgress: Progress = { step: (_title, work) => work(() => undefined) };
