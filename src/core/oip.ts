import type { ModelContract, TensorSpec } from './contract.ts';
import { EdgeshipError } from './errors.ts';
import {
  DATATYPES,
  fromBinary,
  jsonValues,
  oipDatatype,
  oipOf,
  toBinary,
  writeValue,
  writeValues,
  type TensorData,
} from './tensor-types.ts';

export { oipDatatype };

/** A request the server refuses, with the HTTP status and a message naming what is wrong. */
export class InferenceRequestError extends EdgeshipError {
  override readonly name = 'InferenceRequestError';
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 413 | 415 | 502 | 503 | 504,
    message: string,
  ) {
    super(message);
  }
}

/** One input of a checked request: ONNX type, shape and the values in row-major order, as ONNX Runtime takes them. */
export interface CheckedTensor {
  name: string;
  dtype: string;
  dims: number[];
  data: TensorData;
}

export interface CheckedRequest {
  id?: string;
  inputs: CheckedTensor[];
  /** Outputs the client asked for; all of them when absent. */
  outputs?: string[];
  /** Outputs to answer as binary tensor data: every output, or those named. */
  binaryOutputs?: 'all' | string[];
  /** Rows in the request: the first dimension of the first input. */
  batch: number;
}

const bad = (message: string) => new InferenceRequestError(400, message);
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const shapeText = (shape: readonly (number | string | null)[]) =>
  `[${shape.map((dim) => (typeof dim === 'number' ? dim : -1)).join(', ')}]`;
/** Elements one request may hold: beyond this, a shape is a mistake or an attack, whatever the data says. */
const MAX_ELEMENTS = 2 ** 28;

function checkParameters(value: unknown, where: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isRecord(value)) throw bad(`${where}: expected "parameters" to be an object, found ${JSON.stringify(value)}`);
  return value;
}

/**
 * Checks an OIP v2 infer request against the model's contract, so nothing malformed reaches
 * ONNX Runtime: every model input present once and nothing else, the datatype the model takes,
 * a shape that fits the model's (sizes at least 1, one batch size, equal sizes for equally named
 * dims), data exactly as the shape holds it (flat, or nested without ragged rows), every value
 * in its datatype's range. `binary` is the request's binary tensor data (the binary extension).
 */
export function checkInferRequest(
  body: unknown,
  contract: Pick<ModelContract, 'inputs' | 'outputs'>,
  binary?: Buffer,
): CheckedRequest {
  if (!isRecord(body)) throw bad('request body: expected a JSON object with "inputs"');
  if (body.id !== undefined && typeof body.id !== 'string')
    throw bad(`request body: expected "id" to be a string, found ${JSON.stringify(body.id)}`);
  const parameters = checkParameters(body.parameters, 'request body');
  if (!Array.isArray(body.inputs) || body.inputs.length === 0)
    throw bad('request body: expected "inputs" to be a non-empty list');
  const expected = new Map(contract.inputs.map((spec) => [spec.name, spec]));
  const seen = new Set<string>();
  const reader = { binary, offset: 0 };
  const inputs = body.inputs.map((input: unknown, index): CheckedTensor => {
    if (!isRecord(input) || typeof input.name !== 'string')
      throw bad(`inputs[${index}]: expected an object with a "name"`);
    const spec = expected.get(input.name);
    if (!spec)
      throw bad(
        `input "${input.name}": the model has no such input (its inputs: ${contract.inputs.map((entry) => entry.name).join(', ')})`,
      );
    if (seen.has(input.name)) throw bad(`input "${input.name}": given more than once`);
    seen.add(input.name);
    return checkTensor(input, spec, reader);
  });
  if (binary && reader.offset !== binary.length)
    throw bad(
      `request body: ${binary.length - reader.offset} bytes of binary data that no input's binary_data_size claims`,
    );
  const missing = contract.inputs.filter((spec) => !seen.has(spec.name)).map((spec) => spec.name);
  if (missing.length > 0)
    throw bad(
      `request body: missing input${missing.length > 1 ? 's' : ''} ${missing.map((name) => `"${name}"`).join(', ')}`,
    );
  checkDims(inputs, contract);
  const outputs = body.outputs === undefined ? undefined : checkOutputs(body.outputs, contract);
  const binaryAll = parameters.binary_data_output;
  if (binaryAll !== undefined && typeof binaryAll !== 'boolean')
    throw bad('request body: expected parameters.binary_data_output to be true or false');
  const binaryOutputs = binaryAll ? 'all' : outputs?.filter((output) => output.binary).map((output) => output.name);
  return {
    ...(typeof body.id === 'string' && { id: body.id }),
    inputs,
    ...(outputs && { outputs: outputs.map((output) => output.name) }),
    ...(binaryOutputs && binaryOutputs.length > 0 && { binaryOutputs }),
    batch: inputs[0]?.dims[0] ?? 1,
  };
}

/** Across inputs: one batch size, and equal sizes wherever the model names a dim alike. */
function checkDims(inputs: CheckedTensor[], contract: Pick<ModelContract, 'inputs'>): void {
  const sizes = new Map<string, { size: number; input: string }>();
  const batched = contract.inputs.every((spec) => spec.shape.length > 0 && typeof spec.shape[0] !== 'number');
  for (const input of inputs) {
    const spec = contract.inputs.find((candidate) => candidate.name === input.name);
    spec?.shape.forEach((dim, axis) => {
      const key = batched && axis === 0 ? ' batch' : typeof dim === 'string' && dim !== '' ? dim : undefined;
      if (key === undefined) return;
      const size = input.dims[axis] as number;
      const first = sizes.get(key);
      if (!first) sizes.set(key, { size, input: input.name });
      else if (first.size !== size) {
        throw bad(
          key === ' batch'
            ? `input "${input.name}": batch size ${size}, but input "${first.input}" has ${first.size}: every input of a request has the same batch size`
            : `input "${input.name}": dim "${key}" is ${size}, but input "${first.input}" has it ${first.size}`,
        );
      }
    });
  }
}

function checkTensor(
  input: Record<string, unknown>,
  spec: TensorSpec,
  reader: { binary: Buffer | undefined; offset: number },
): CheckedTensor {
  const name = `input "${spec.name}"`;
  const datatype = oipOf(spec.dtype);
  if (!datatype)
    throw bad(`${name}: the model takes ${spec.dtype}, which the Open Inference Protocol has no datatype for`);
  if (input.datatype !== datatype)
    throw bad(`${name}: expected datatype ${datatype}, found ${JSON.stringify(input.datatype ?? null)}`);
  const parameters = checkParameters(input.parameters, name);
  const shape = input.shape;
  if (!Array.isArray(shape) || !shape.every((dim) => Number.isSafeInteger(dim) && (dim as number) >= 0))
    throw bad(`${name}: expected "shape" to be a list of sizes, found ${JSON.stringify(shape ?? null)}`);
  const dims = shape as number[];
  const fits =
    dims.length === spec.shape.length &&
    spec.shape.every((dim, index) => typeof dim !== 'number' || dim === dims[index]);
  if (!fits) throw bad(`${name}: expected shape ${shapeText(spec.shape)}, found ${shapeText(dims)}`);
  if (dims.includes(0)) throw bad(`${name}: shape ${shapeText(dims)} has a size 0; every size must be at least 1`);
  const count = dims.reduce((product, dim) => product * dim, 1);
  if (count > MAX_ELEMENTS)
    throw bad(`${name}: shape ${shapeText(dims)} holds ${count} values, over the ${MAX_ELEMENTS} one request may hold`);
  const size = parameters.binary_data_size;
  if (size !== undefined) {
    if (!Number.isSafeInteger(size) || (size as number) < 0)
      throw bad(`${name}: expected parameters.binary_data_size to be a byte count, found ${JSON.stringify(size)}`);
    if (input.data !== undefined) throw bad(`${name}: has both "data" and parameters.binary_data_size; send one`);
    const { binary } = reader;
    if (!binary || reader.offset + (size as number) > binary.length)
      throw bad(
        `${name}: binary_data_size ${size as number} runs past the binary data of the request (${(binary?.length ?? 0) - reader.offset} bytes left)`,
      );
    const data = fromBinary(datatype, binary.subarray(reader.offset, reader.offset + (size as number)), count);
    reader.offset += size as number;
    if (typeof data === 'string') throw bad(`${name}: binary data: ${data}`);
    return { name: spec.name, dtype: spec.dtype, dims, data };
  }
  if (!Array.isArray(input.data)) throw bad(`${name}: expected "data" to be a list of values`);
  const data = DATATYPES[datatype].make(count);
  const write = (raw: unknown, index: number) => {
    const problem = writeValue(datatype, data, index, raw);
    if (problem)
      throw bad(`${name}: ${problem} for ${datatype}, found ${JSON.stringify(raw ?? null)} at index ${index}`);
  };
  if (!Array.isArray(input.data[0])) {
    if (input.data.length !== count)
      throw bad(`${name}: shape ${shapeText(dims)} holds ${count} values, found ${input.data.length}`);
    const refused = writeValues(datatype, data, input.data);
    if (refused >= 0) write(input.data[refused], refused);
  } else if (writeNested(input.data, dims, write) !== count)
    throw bad(`${name}: shape ${shapeText(dims)} holds ${count} values, found fewer`);
  return { name: spec.name, dtype: spec.dtype, dims, data };
}

/**
 * Nested data, walked level by level against the shape: each list as long as its dim, no
 * deeper than the shape (so no stack can be exhausted), no ragged rows. Returns values written.
 */
function writeNested(data: unknown[], dims: number[], write: (raw: unknown, index: number) => void): number {
  let written = 0;
  const walk = (list: unknown[], depth: number, path: string) => {
    if (list.length !== dims[depth])
      throw bad(`data${path}: expected ${dims[depth]} entries (shape dim ${depth}), found ${list.length}`);
    const leaf = depth === dims.length - 1;
    list.forEach((item, index) => {
      if (leaf) {
        if (Array.isArray(item)) throw bad(`data${path}[${index}]: nested deeper than the shape's ${dims.length} dims`);
        write(item, written++);
      } else if (!Array.isArray(item))
        throw bad(
          `data${path}[${index}]: expected a list of ${dims[depth + 1]} entries, found ${JSON.stringify(item)}`,
        );
      else walk(item, depth + 1, `${path}[${index}]`);
    });
  };
  walk(data, 0, '');
  return written;
}

function checkOutputs(outputs: unknown, contract: Pick<ModelContract, 'outputs'>): { name: string; binary: boolean }[] {
  if (!Array.isArray(outputs) || outputs.length === 0)
    throw bad('request body: expected "outputs" to be a non-empty list (leave it out for every output)');
  const known = new Set(contract.outputs.map((spec) => spec.name));
  const seen = new Set<string>();
  return outputs.map((output: unknown, index) => {
    const name = isRecord(output) ? output.name : undefined;
    if (typeof name !== 'string') throw bad(`outputs[${index}]: expected an object with a "name"`);
    if (!known.has(name))
      throw bad(`output "${name}": the model has no such output (its outputs: ${[...known].join(', ')})`);
    if (seen.has(name)) throw bad(`output "${name}": asked for more than once`);
    seen.add(name);
    const binary = checkParameters((output as Record<string, unknown>).parameters, `output "${name}"`).binary_data;
    if (binary !== undefined && typeof binary !== 'boolean')
      throw bad(`output "${name}": expected parameters.binary_data to be true or false`);
    return { name, binary: binary === true };
  });
}

/** One output of a run, as ONNX Runtime gave it. */
export interface OutputTensor {
  name: string;
  dtype: string;
  dims: readonly number[];
  data: TensorData;
}

/**
 * The OIP v2 infer response: the JSON body, and the binary tensor data of the outputs asked for
 * as binary (in the order of the outputs, each with parameters.binary_data_size).
 */
export function inferResponse(
  model: { name: string; version: string },
  request: Pick<CheckedRequest, 'id' | 'binaryOutputs'>,
  outputs: OutputTensor[],
) {
  const binary: Buffer[] = [];
  const { binaryOutputs } = request;
  // Written out rather than spread: this runs for every answer.
  const tensors = outputs.map((output) => {
    const datatype = oipDatatype(output.dtype);
    const shape = Array.from(output.dims);
    if (binaryOutputs === undefined || (binaryOutputs !== 'all' && !binaryOutputs.includes(output.name)))
      return { name: output.name, datatype, shape, data: jsonValues(output.dtype, output.data) };
    const bytes = toBinary(output.dtype, output.data);
    binary.push(bytes);
    return { name: output.name, datatype, shape, parameters: { binary_data_size: bytes.length } };
  });
  const body =
    request.id === undefined
      ? { model_name: model.name, model_version: model.version, outputs: tensors }
      : { model_name: model.name, model_version: model.version, id: request.id, outputs: tensors };
  return { body, binary };
}

/** The OIP v2 model metadata body. */
export function modelMetadata(
  model: { name: string; versions: string[] },
  contract: Pick<ModelContract, 'inputs' | 'outputs'>,
) {
  const tensors = (specs: TensorSpec[]) =>
    specs.map((spec) => ({
      name: spec.name,
      datatype: oipDatatype(spec.dtype),
      shape: spec.shape.map((dim) => (typeof dim === 'number' ? dim : -1)),
    }));
  return {
    name: model.name,
    versions: model.versions,
    platform: 'onnx_onnxv1',
    inputs: tensors(contract.inputs),
    outputs: tensors(contract.outputs),
  };
}
