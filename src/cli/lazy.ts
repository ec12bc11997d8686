type Merged<T extends readonly unknown[]> = T extends readonly [infer Head, ...infer Rest]
  ? Awaited<Head> & Merged<Rest>
  : unknown;

/**
 * Modules a command needs, loaded when it runs and merged into one object: the engine's
 * dependencies (zod schemas, ONNX Runtime, git, registries) take a few hundred milliseconds
 * to load, which `--help` and every other command would otherwise pay at start-up.
 */
export async function modules<T extends readonly Promise<object>[]>(...imports: T): Promise<Merged<T>> {
  return Object.assign({}, ...(await Promise.all(imports))) as Merged<T>;
}
