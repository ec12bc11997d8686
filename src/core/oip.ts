import type { ModelContract, TensorSpec } from './contract.ts';
import { EdgeshipError } from './errors.ts';

/** Open Inference Protocol datatypes and the ONNX Runtime tensor types they carry. */
export const OIP_TO_ORT = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP32: 'float32',
  FP64: 'float64',
} as const;

export type OipDatatype = keyof typeof OIP_TO_ORT;
const ORT_TO_OIP = Object.fromEntries(Object.entries(OIP_TO_ORT).map(([oip, ort]) => [ort, oip])) as Record<string, OipDatatype>;

/** The OIP datatype of an ONNX tensor type, e.g. FP32 for float32. */
export const oipDatatype = (dtype: string): string => ORT_TO_OIP[dtype] ?? dtype.toUpperCase();

/** A request the server refuses, with the HTTP status and a message naming what is wrong. */
export class InferenceRequestError extends EdgeshipError {
  override readonly name = 'InferenceRequestError';
  constructor(
    readonly status: 400 | 401 | 404 | 413 | 502 | 503 | 504,
    message: string,
  ) {
    super(message);
  }
}

/** One input of a checked request: ONNX type, shape and the values flattened in row-major order. */
export interface CheckedTensor {
  name: string;
  dtype: string;
  dims: number[];
  /** A Float32Array for float32 inputs (what ONNX Runtime takes, no copy later), plain numbers otherwise. */
  data: ArrayLike<number>;
}

export interface CheckedRequest {
  id?: string;
  inputs: CheckedTensor[];
  /** Outputs the client asked for; all of them when absent. */
  outputs?: string[];
  /** Rows in the request: the first dimension of the first input. */
  batch: number;
}

const bad = (message: string) => new InferenceRequestError(400, message);
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const shapeText = (shape: readonly (number | string | null)[]) => `[${shape.map((dim) => (typeof dim === 'number' ? dim : -1)).join(', ')}]`;

/**
 * Checks an OIP v2 infer request body against the model's contract, so nothing malformed
 * reaches ONNX Runtime: every model input present once and nothing else, the datatype the
 * model takes, a shape that fits the model's (symbolic dims take any size), as many values as
 * the shape holds (data flat or nested), numbers only. Each error names the input.
 */
export function checkInferRequest(body: unknown, contract: ModelContract): CheckedRequest {
  if (!isRecord(body)) throw bad('request body: expected a JSON object with "inputs"');
  if (!Array.isArray(body.inputs) || body.inputs.length === 0) throw bad('request body: expected "inputs" to be a non-empty list');
  const expected = new Map(contract.inputs.map((spec) => [spec.name, spec]));
  const seen = new Set<string>();
  const inputs = body.inputs.map((input: unknown, index): CheckedTensor => {
    if (!isRecord(input) || typeof input.name !== 'string') throw bad(`inputs[${index}]: expected an object with a "name"`);
    const spec = expected.get(input.name);
    if (!spec) throw bad(`input "${input.name}": the model has no such input (its inputs: ${contract.inputs.map((entry) => entry.name).join(', ')})`);
    if (seen.has(input.name)) throw bad(`input "${input.name}": given more than once`);
    seen.add(input.name);
    return checkTensor(input, spec);
  });
  const missing = contract.inputs.filter((spec) => !seen.has(spec.name)).map((spec) => spec.name);
  if (missing.length > 0) throw bad(`request body: missing input${missing.length > 1 ? 's' : ''} ${missing.map((name) => `"${name}"`).join(', ')}`);
  const outputs = body.outputs === undefined ? undefined : checkOutputs(body.outputs, contract);
  return { ...(typeof body.id === 'string' && { id: body.id }), inputs, ...(outputs && { outputs }), batch: inputs[0]?.dims[0] ?? 1 };
}

function checkTensor(input: Record<string, unknown>, spec: TensorSpec): CheckedTensor {
  const name = `input "${spec.name}"`;
  const datatype = oipDatatype(spec.dtype);
  if (input.datatype !== datatype) throw bad(`${name}: expected datatype ${datatype}, found ${JSON.stringify(input.datatype ?? null)}`);
  const shape = input.shape;
  if (!Array.isArray(shape) || !shape.every((dim) => Number.isInteger(dim) && (dim as number) >= 0)) throw bad(`${name}: expected "shape" to be a list of sizes, found ${JSON.stringify(shape ?? null)}`);
  const dims = shape as number[];
  const fits = dims.length === spec.shape.length && spec.shape.every((dim, index) => typeof dim !== 'number' || dim === dims[index]);
  if (!fits) throw bad(`${name}: expected shape ${shapeText(spec.shape)}, found ${shapeText(dims)}`);
  if (!Array.isArray(input.data)) throw bad(`${name}: expected "data" to be a list of values`);
  const data: unknown[] = input.data.some(Array.isArray) ? (input.data.flat(Infinity) as unknown[]) : input.data;
  const count = dims.reduce((product, dim) => product * dim, 1);
  if (data.length !== count) throw bad(`${name}: shape ${shapeText(dims)} holds ${count} values, found ${data.length}`);
  // One pass: check each value and write it where ONNX Runtime will read it.
  const values = spec.dtype === 'float32' ? new Float32Array(count) : new Array<number>(count);
  for (let index = 0; index < count; index += 1) {
    const raw = data[index];
    const value = typeof raw === 'boolean' && spec.dtype === 'bool' ? Number(raw) : raw;
    if (typeof value !== 'number' || !Number.isFinite(value)) throw bad(`${name}: expected finite numbers in "data", found ${JSON.stringify(raw ?? null)} at index ${index}`);
    values[index] = value;
  }
  return { name: spec.name, dtype: spec.dtype, dims, data: values };
}

function checkOutputs(outputs: unknown, contract: ModelContract): string[] {
  if (!Array.isArray(outputs)) throw bad('request body: expected "outputs" to be a list');
  const known = new Set(contract.outputs.map((spec) => spec.name));
  return outputs.map((output: unknown, index) => {
    const name = isRecord(output) ? output.name : undefined;
    if (typeof name !== 'string') throw bad(`outputs[${index}]: expected an object with a "name"`);
    if (!known.has(name)) throw bad(`output "${name}": the model has no such output (its outputs: ${[...known].join(', ')})`);
    return name;
  });
}

/** One output of a run, as ONNX Runtime gave it. */
export interface OutputTensor {
  name: string;
  dtype: string;
  dims: readonly number[];
  data: ArrayLike<number | bigint>;
}

/** The OIP v2 infer response body. */
export function inferResponse(model: { name: string; version: string }, request: Pick<CheckedRequest, 'id'>, outputs: OutputTensor[]) {
  return {
    model_name: model.name,
    model_version: model.version,
    ...(request.id !== undefined && { id: request.id }),
    outputs: outputs.map((output) => ({
      name: output.name,
      datatype: oipDatatype(output.dtype),
      shape: [...output.dims],
      data: Array.from(output.data, (value) => (typeof value === 'bigint' ? Number(value) : value)),
    })),
  };
}

/** The OIP v2 model metadata body. */
export function modelMetadata(model: { name: string; version: string }, contract: ModelContract) {
  const tensors = (specs: TensorSpec[]) => specs.map((spec) => ({ name: spec.name, datatype: oipDatatype(spec.dtype), shape: spec.shape.map((dim) => (typeof dim === 'number' ? dim : -1)) }));
  return { name: model.name, versions: [model.version], platform: 'onnxruntime_onnx', inputs: tensors(contract.inputs), outputs: tensors(contract.outputs) };
}
