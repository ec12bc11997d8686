import { getFloat16, setFloat16 } from '@petamoriken/float16';

/**
 * The tensor datatypes of the Open Inference Protocol and how each is carried: the ONNX Runtime
 * type, the array ONNX Runtime takes (FP16 as its raw 16-bit patterns, BYTES as strings), the
 * values JSON may give, and the size of one element in the binary tensor data extension.
 */
export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | string[];

type Kind = 'float' | 'int' | 'bigint' | 'bool' | 'bytes';

interface Datatype {
  ort: string;
  kind: Kind;
  /** Bytes per element in binary tensor data; 0 for BYTES (each element has a 4-byte length). */
  size: number;
  /** Smallest and largest value JSON may carry (floats: the largest finite magnitude). */
  min: number;
  max: number;
  make: (length: number) => TensorData;
}

const typed =
  <T extends TensorData>(Array: new (length: number) => T) =>
  (length: number) =>
    new Array(length);
const FP32_MAX = 3.4028234663852886e38;

export const DATATYPES = {
  BOOL: { ort: 'bool', kind: 'bool', size: 1, min: 0, max: 1, make: typed(Uint8Array) },
  UINT8: { ort: 'uint8', kind: 'int', size: 1, min: 0, max: 255, make: typed(Uint8Array) },
  UINT16: { ort: 'uint16', kind: 'int', size: 2, min: 0, max: 65_535, make: typed(Uint16Array) },
  UINT32: { ort: 'uint32', kind: 'int', size: 4, min: 0, max: 4_294_967_295, make: typed(Uint32Array) },
  UINT64: { ort: 'uint64', kind: 'bigint', size: 8, min: 0, max: Number.MAX_SAFE_INTEGER, make: typed(BigUint64Array) },
  INT8: { ort: 'int8', kind: 'int', size: 1, min: -128, max: 127, make: typed(Int8Array) },
  INT16: { ort: 'int16', kind: 'int', size: 2, min: -32_768, max: 32_767, make: typed(Int16Array) },
  INT32: { ort: 'int32', kind: 'int', size: 4, min: -2_147_483_648, max: 2_147_483_647, make: typed(Int32Array) },
  INT64: {
    ort: 'int64',
    kind: 'bigint',
    size: 8,
    min: Number.MIN_SAFE_INTEGER,
    max: Number.MAX_SAFE_INTEGER,
    make: typed(BigInt64Array),
  },
  FP16: { ort: 'float16', kind: 'float', size: 2, min: -65_504, max: 65_504, make: typed(Uint16Array) },
  FP32: { ort: 'float32', kind: 'float', size: 4, min: -FP32_MAX, max: FP32_MAX, make: typed(Float32Array) },
  FP64: {
    ort: 'float64',
    kind: 'float',
    size: 8,
    min: -Number.MAX_VALUE,
    max: Number.MAX_VALUE,
    make: typed(Float64Array),
  },
  BYTES: {
    ort: 'string',
    kind: 'bytes',
    size: 0,
    min: 0,
    max: 0,
    make: (length: number) => new Array<string>(length).fill(''),
  },
} as const satisfies Record<string, Datatype>;

export type OipDatatype = keyof typeof DATATYPES;
const BY_ORT = new Map<string, OipDatatype>(
  Object.entries(DATATYPES).map(([name, type]) => [type.ort, name as OipDatatype]),
);

/** The OIP name of an ONNX Runtime tensor type (FP16 for float16, BYTES for string); undefined for types OIP lacks. */
export const oipOf = (ort: string): OipDatatype | undefined => BY_ORT.get(ort);
/** The OIP name, or the ONNX Runtime name in capitals for a type the protocol has no name for. */
export const oipDatatype = (ort: string): string => oipOf(ort) ?? ort.toUpperCase();

/**
 * Writes one JSON value into `data` at `index`; returns what was wrong with it, or undefined.
 * Integers must be whole and in range (no silent wrap), floats finite and representable
 * (no overflow to Infinity), BOOL true/false (or 0/1), BYTES strings.
 */
export function writeValue(datatype: OipDatatype, data: TensorData, index: number, raw: unknown): string | undefined {
  const type: Datatype = DATATYPES[datatype];
  if (type.kind === 'bytes') {
    if (typeof raw !== 'string') return 'expected a string';
    (data as string[])[index] = raw;
    return undefined;
  }
  if (type.kind === 'bool') {
    if (raw === true || raw === 1) (data as Uint8Array)[index] = 1;
    else if (raw === false || raw === 0) (data as Uint8Array)[index] = 0;
    else return 'expected true or false';
    return undefined;
  }
  if (typeof raw !== 'number' || !Number.isFinite(raw)) return 'expected a finite number';
  if (raw < type.min || raw > type.max) {
    return type.kind === 'bigint'
      ? `expected a whole number within ±2^53-1 in JSON (send larger ${datatype} values as binary data)`
      : `expected a value from ${type.min} to ${type.max}`;
  }
  if (type.kind !== 'float' && !Number.isInteger(raw)) return 'expected a whole number';
  if (type.kind === 'bigint') (data as BigInt64Array | BigUint64Array)[index] = BigInt(raw);
  else if (datatype === 'FP16') (data as Uint16Array)[index] = float16Bits(raw);
  else (data as Float32Array)[index] = raw;
  return undefined;
}

/**
 * Writes a flat list of JSON values; returns the index of the first value `writeValue` would
 * refuse, or -1. Floats and the integers of typed arrays take a tight loop: a batch of 32
 * windows is thousands of values per request.
 */
export function writeValues(datatype: OipDatatype, data: TensorData, values: readonly unknown[]): number {
  const type: Datatype = DATATYPES[datatype];
  const { min, max } = type;
  if ((type.kind === 'float' && datatype !== 'FP16') || type.kind === 'int') {
    const target = data as Float32Array;
    const whole = type.kind === 'int';
    for (let index = 0; index < values.length; index += 1) {
      const value = values[index];
      // NaN fails both comparisons; JSON has no Infinity, but a caller might.
      if (typeof value !== 'number' || !(value >= min && value <= max) || (whole && !Number.isInteger(value)))
        return index;
      target[index] = value;
    }
    return -1;
  }
  for (let index = 0; index < values.length; index += 1)
    if (writeValue(datatype, data, index, values[index]) !== undefined) return index;
  return -1;
}

const scratch = new DataView(new ArrayBuffer(2));
const float16Bits = (value: number) => {
  setFloat16(scratch, 0, value, true);
  return scratch.getUint16(0, true);
};
const float16Value = (bits: number) => {
  scratch.setUint16(0, bits, true);
  return getFloat16(scratch, 0, true);
};

/**
 * Tensor values as JSON gives them back: FP16 bit patterns as numbers, BOOL as true/false,
 * 64-bit integers as numbers (exact up to ±2^53-1; the binary extension carries every bit).
 */
export function jsonValues(ort: string, data: ArrayLike<unknown>): unknown[] {
  if (ort === 'float16') return Array.from(data as Uint16Array, float16Value);
  if (ort === 'bool') return Array.from(data as ArrayLike<number | boolean>, (value) => Boolean(value));
  if (ort === 'int64' || ort === 'uint64')
    return Array.from(data as ArrayLike<bigint | number>, (value) => Number(value));
  return Array.from(data);
}

/** The binary tensor data of the OIP binary extension: little-endian elements, BYTES as 4-byte length + bytes. */
export function toBinary(ort: string, data: TensorData): Buffer {
  if (Array.isArray(data)) {
    const parts = data.flatMap((text) => {
      const bytes = Buffer.from(text, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32LE(bytes.length);
      return [length, bytes];
    });
    return Buffer.concat(parts);
  }
  if (ort === 'bool') return Buffer.from(Uint8Array.from(data as Uint8Array, (value) => (value ? 1 : 0)));
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Binary tensor data as the array ONNX Runtime takes, copied out of the request (so it owns
 * its memory); the error says what does not fit the datatype and the element count.
 */
export function fromBinary(datatype: OipDatatype, bytes: Buffer, count: number): TensorData | string {
  const type: Datatype = DATATYPES[datatype];
  if (type.kind === 'bytes') {
    const values: string[] = [];
    let offset = 0;
    while (offset < bytes.length) {
      if (offset + 4 > bytes.length)
        return 'a BYTES element is cut short (each is a 4-byte little-endian length, then the bytes)';
      const length = bytes.readUInt32LE(offset);
      if (offset + 4 + length > bytes.length) return 'a BYTES element is longer than the data';
      values.push(bytes.toString('utf8', offset + 4, offset + 4 + length));
      offset += 4 + length;
    }
    return values.length === count ? values : `${values.length} BYTES elements for a shape that holds ${count}`;
  }
  if (bytes.length !== count * type.size)
    return `${bytes.length} bytes for ${count} ${datatype} values (${count * type.size} bytes)`;
  const data = type.make(count) as Exclude<TensorData, string[]>;
  new Uint8Array(data.buffer).set(bytes);
  if (type.kind === 'bool' && (data as Uint8Array).some((value) => value > 1)) return 'BOOL bytes must be 0 or 1';
  return data;
}
