import { InferenceRequestError, type OutputTensor } from '../../core/oip.ts';
import { parseJson } from '../../core/parse-json.ts';
import {
  DATATYPES,
  fromBinary,
  jsonValues,
  oipDatatype,
  oipOf,
  toBinary,
  writeValues,
  type OipDatatype,
  type TensorData,
} from '../../core/tensor-types.ts';
import type { InferBody } from '../server.ts';

/** An InferParameter as proto-loader gives it (oneofs: true). */
export interface GrpcParameter {
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param';
  bool_param?: boolean;
  int64_param?: number;
  string_param?: string;
}

/** InferTensorContents: the values of a tensor in the field of its datatype. */
export interface GrpcContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: number[];
  uint_contents?: number[];
  uint64_contents?: number[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Buffer[];
}

export interface GrpcInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Record<string, GrpcParameter>;
  inputs: {
    name: string;
    datatype: string;
    shape: number[];
    parameters: Record<string, GrpcParameter>;
    contents?: GrpcContents | null;
  }[];
  outputs: { name: string; parameters: Record<string, GrpcParameter> }[];
  raw_input_contents: Buffer[];
}

export interface GrpcInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: { name: string; datatype: string; shape: number[]; contents?: GrpcContents }[];
  raw_output_contents: Buffer[];
}

/** The field of InferTensorContents each datatype's values go in; FP16 has none (raw only). */
const FIELD: Record<OipDatatype, keyof GrpcContents | undefined> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP16: undefined,
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

const bad = (message: string) => new InferenceRequestError(400, message);
const parametersOf = (map: Record<string, GrpcParameter> | undefined) =>
  Object.fromEntries(
    Object.entries(map ?? {}).map(([key, parameter]) => [
      key,
      parameter.parameter_choice ? parameter[parameter.parameter_choice] : undefined,
    ]),
  );
const hasValues = (contents: GrpcContents | null | undefined) =>
  Boolean(contents && Object.values(contents).some((values) => Array.isArray(values) && values.length > 0));

/**
 * A gRPC ModelInferRequest as the REST request it means, so both transports share one check
 * (core/oip) and one path (serve/server): typed contents become `data`; raw_input_contents the
 * binary tensor data, each input with its binary_data_size, and the answer is asked for raw too.
 * `bytes` is that request as the binary extension writes it: what an offloading site forwards.
 */
export function inferBodyOf(request: GrpcInferRequest): { body: InferBody; raw: boolean } {
  const raw = request.raw_input_contents;
  if (raw.length > 0) {
    const typed = request.inputs.find((input) => hasValues(input.contents));
    if (typed)
      throw bad(
        `input "${typed.name}": has contents, but the request carries raw_input_contents; send one or the other`,
      );
    if (raw.length !== request.inputs.length)
      throw bad(
        `raw_input_contents: ${raw.length} entries for ${request.inputs.length} inputs; one per input, in the order of inputs`,
      );
  }
  const inputs = request.inputs.map((input, index) => {
    const parameters = parametersOf(input.parameters);
    const base = { name: input.name, datatype: input.datatype, shape: input.shape };
    if (raw.length > 0)
      return { ...base, parameters: { ...parameters, binary_data_size: (raw[index] as Buffer).length } };
    return { ...base, parameters, data: valuesOf(input) };
  });
  const outputs = request.outputs.map((output) => ({ name: output.name, parameters: parametersOf(output.parameters) }));
  const json = {
    ...(request.id && { id: request.id }),
    inputs,
    ...(outputs.length > 0 && { outputs }),
    parameters: { ...parametersOf(request.parameters), ...(raw.length > 0 && { binary_data_output: true }) },
  };
  // Written only when the request is forwarded: a local run needs the JSON and the binary data alone.
  let header: Buffer | undefined;
  const headerOf = () => (header ??= Buffer.from(JSON.stringify(json)));
  if (raw.length === 0)
    return {
      body: {
        json,
        get bytes() {
          return headerOf();
        },
      },
      raw: false,
    };
  const binary = raw.length === 1 ? (raw[0] as Buffer) : Buffer.concat(raw);
  return {
    body: {
      json,
      binary,
      get bytes() {
        return Buffer.concat([headerOf(), binary]);
      },
      get headerLength() {
        return headerOf().length;
      },
    },
    raw: true,
  };
}

/** An input's typed values, from the field of its datatype (a value in another field is not there). */
function valuesOf(input: GrpcInferRequest['inputs'][number]): unknown[] {
  const datatype = input.datatype as OipDatatype;
  if (datatype === 'FP16')
    throw bad(
      `input "${input.name}": FP16 values go in raw_input_contents (InferTensorContents has no field for them)`,
    );
  const field = Object.hasOwn(FIELD, datatype) ? FIELD[datatype] : undefined;
  const values = (field && input.contents?.[field]) ?? [];
  return field === 'bytes_contents' ? (values as Buffer[]).map((bytes) => bytes.toString('utf8')) : values;
}

/**
 * The ModelInferResponse of a run: typed contents when the request was typed, raw_output_contents
 * when it was raw or an output has no typed field (FP16): raw is all or nothing.
 */
export function grpcResponseOf(
  model: { name: string; version: string },
  id: string,
  outputs: readonly OutputTensor[],
  raw: boolean,
): GrpcInferResponse {
  const asRaw = raw || outputs.some((output) => FIELD[oipOf(output.dtype) ?? 'FP16'] === undefined);
  return {
    model_name: model.name,
    model_version: model.version,
    id,
    outputs: outputs.map((output) => ({
      name: output.name,
      datatype: oipDatatype(output.dtype),
      shape: Array.from(output.dims),
      ...(!asRaw && { contents: contentsOf(output) }),
    })),
    raw_output_contents: asRaw ? outputs.map((output) => toBinary(output.dtype, output.data)) : [],
  };
}

function contentsOf(output: OutputTensor): GrpcContents {
  const field = FIELD[oipOf(output.dtype) as OipDatatype] as keyof GrpcContents;
  const values = jsonValues(output.dtype, output.data);
  return {
    [field]: field === 'bytes_contents' ? (values as string[]).map((text) => Buffer.from(text, 'utf8')) : values,
  };
}

/** The cloud's statuses a gRPC client gets as they are (as their gRPC codes); any other is a 502. */
const PASSED = new Set([400, 401, 404, 413, 415, 502, 503, 504]);

/** One output of an OIP REST answer (JSON `data`, or binary_data_size bytes of the binary part). */
interface RestOutput {
  name: string;
  datatype: string;
  shape: number[];
  data?: unknown[];
  parameters?: { binary_data_size?: number };
}

/**
 * The cloud's REST answer to a forwarded request as the outputs of a run, for a gRPC client; an
 * answer that is not one (a 4xx, a body that does not parse) is an error with its status.
 */
export function outputsOfAnswer(
  status: number,
  headers: Record<string, string>,
  body: Buffer,
): { model: { name: string; version: string }; outputs: OutputTensor[] } {
  const headerLength = headers['inference-header-content-length'];
  const jsonPart = headerLength === undefined ? body : body.subarray(0, Number(headerLength));
  // Its fields are each checked below, before anything is allocated for them.
  const parsed = parseJson(
    jsonPart.toString('utf8'),
    () => new InferenceRequestError(502, `the cloud answered ${status} with a body that is not OIP JSON`),
  ) as { model_name?: string; model_version?: string; outputs?: RestOutput[]; error?: string };
  if (status !== 200)
    throw new InferenceRequestError(
      PASSED.has(status) ? (status as InferenceRequestError['status']) : 502,
      `the cloud answered ${status}: ${parsed.error ?? 'no error message'}`,
    );
  let offset = headerLength === undefined ? 0 : Number(headerLength);
  const outputs = (parsed.outputs ?? []).map((output): OutputTensor => {
    const datatype = output.datatype as OipDatatype;
    if (!Object.hasOwn(DATATYPES, datatype))
      throw new InferenceRequestError(
        502,
        `the cloud answered output "${output.name}" with datatype ${output.datatype}, which OIP has not`,
      );
    // The cloud is the operator's, but its answer is still checked before anything is allocated for it.
    const shape: unknown = output.shape;
    if (!Array.isArray(shape) || !shape.every((dim) => Number.isSafeInteger(dim) && (dim as number) >= 0))
      throw new InferenceRequestError(
        502,
        `the cloud answered output "${output.name}" with shape ${JSON.stringify(shape)}`,
      );
    const count = (shape as number[]).reduce((product, dim) => product * dim, 1);
    let data: TensorData | string;
    const size = output.parameters?.binary_data_size;
    const values = output.data ?? [];
    if (size !== undefined) {
      data =
        Number.isSafeInteger(size) && size >= 0
          ? fromBinary(datatype, body.subarray(offset, offset + size), count)
          : `binary_data_size ${JSON.stringify(size)}`;
      offset += size;
    } else if (!Array.isArray(values) || values.length !== count) {
      data = `${Array.isArray(values) ? values.length : 'no'} values for shape [${(shape as number[]).join(', ')}]`;
    } else {
      data = DATATYPES[datatype].make(count);
      if (writeValues(datatype, data, values) >= 0) data = `values that are not ${datatype}`;
    }
    if (typeof data === 'string')
      throw new InferenceRequestError(502, `the cloud answered output "${output.name}" with ${data}`);
    return { name: output.name, dtype: DATATYPES[datatype].ort, dims: output.shape, data };
  });
  return { model: { name: parsed.model_name ?? '', version: parsed.model_version ?? '' }, outputs };
}
