import ort from 'onnxruntime-node';
import type { Dim, TensorSpec } from '../../core/contract.ts';
import type { TensorJson, TensorValues } from '../../core/golden.ts';

type NumericType =
  'float32' | 'float64' | 'int32' | 'int64' | 'int16' | 'int8' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'bool';

const ARRAYS = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int16: Int16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  bool: Uint8Array,
} as const;

/** Contract tensors from ONNX Runtime's session metadata; unknown dims become null. */
export function specsOf(metadata: readonly ort.InferenceSession.ValueMetadata[]): TensorSpec[] {
  return metadata.map((value) => {
    if (!value.isTensor) return { name: value.name, dtype: 'non-tensor', shape: [] };
    const shape: Dim[] = value.shape.map((dim) => (typeof dim === 'number' ? (dim >= 0 ? dim : null) : dim || null));
    return { name: value.name, dtype: value.type, shape };
  });
}

/** An ORT tensor from JSON data (golden samples, requests). */
export function tensorFromJson(json: TensorJson, name: string): ort.Tensor {
  const type = json.dtype as NumericType;
  const count = json.dims.reduce((product, dim) => product * dim, 1);
  if (count !== json.data.length) {
    throw new Error(
      `input "${name}": dims [${json.dims.join(', ')}] hold ${count} values, data has ${json.data.length}`,
    );
  }
  if (type === 'int64' || type === 'uint64') {
    const values = json.data.map((value) => BigInt(Math.trunc(value)));
    return new ort.Tensor(type, type === 'int64' ? BigInt64Array.from(values) : BigUint64Array.from(values), json.dims);
  }
  const ArrayType: (typeof ARRAYS)[keyof typeof ARRAYS] | undefined = ARRAYS[type];
  if (!ArrayType) throw new Error(`input "${name}": unsupported dtype "${json.dtype}"`);
  return new ort.Tensor(type, ArrayType.from(json.data), json.dims);
}

/** A deterministic input tensor for a spec, symbolic dims set to `batch`. */
export function syntheticTensor(spec: TensorSpec, batch: number, seed = 1): ort.Tensor {
  const dims = spec.shape.map((dim) => (typeof dim === 'number' ? dim : batch));
  const count = dims.reduce((product, dim) => product * dim, 1);
  let state = seed >>> 0;
  const data = Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0; // LCG: same values every run
    return state / 2 ** 32;
  });
  return tensorFromJson({ dtype: spec.dtype, dims, data }, spec.name);
}

/** Outputs of a run as plain numbers. */
export function toValues(outputs: ort.InferenceSession.OnnxValueMapType): TensorValues {
  const values: TensorValues = {};
  for (const [name, tensor] of Object.entries(outputs)) {
    const data = tensor.data as ArrayLike<number | bigint>;
    values[name] = { dims: tensor.dims, data: Array.from(data, (value) => Number(value)) };
  }
  return values;
}
