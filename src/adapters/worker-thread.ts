import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * A worker thread running the module at `url` (no extension): the built .js, or from the
 * TypeScript sources the .ts with tsx registered in the thread (worker threads do not take
 * --import).
 */
export function threadOf(url: URL, workerData: unknown): Worker {
  const typescript = import.meta.url.endsWith('.ts');
  const file = new URL(`${url.href}${typescript ? '.ts' : '.js'}`);
  if (!typescript) return new Worker(fileURLToPath(file), { workerData });
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => tsx.register()).then(() => import(${JSON.stringify(file.href)}))`;
  return new Worker(bootstrap, { eval: true, workerData });
}
