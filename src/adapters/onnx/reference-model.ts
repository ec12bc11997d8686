import protobuf from 'protobufjs/minimal.js';

/**
 * The reference workload the profiler measures beside a model, in the same process, threads and
 * moments: an MLP of `layers` MatMul + Tanh over a `[rows, width]` input, with fixed weights. What
 * load does to it, it does to the model, so the model's time divided by the reference's is what
 * the host's speed this minute does not move.
 */
export const REFERENCE = { rows: 64, width: 64, layers: 24 } as const;

// Field numbers from onnx.proto.
const FLOAT = 1;
const IR_VERSION = 8;
const OPSET = 17;

type Encode = (writer: protobuf.Writer) => void;

/** A length-delimited submessage at `field`. */
function message(writer: protobuf.Writer, field: number, encode: Encode): void {
  writer.uint32((field << 3) | 2).fork();
  encode(writer);
  writer.ldelim();
}

const string = (writer: protobuf.Writer, field: number, value: string) => writer.uint32((field << 3) | 2).string(value);
const varint = (writer: protobuf.Writer, field: number, value: number) => writer.uint32(field << 3).int64(value);

/** ValueInfoProto of a float tensor with fixed dims. */
function valueInfo(name: string, dims: readonly number[]): Encode {
  return (writer) => {
    string(writer, 1, name);
    message(writer, 2, (type) =>
      message(type, 1, (tensor) => {
        varint(tensor, 1, FLOAT);
        message(tensor, 2, (shape) =>
          dims.forEach((dim) => message(shape, 1, (dimension) => varint(dimension, 1, dim))),
        );
      }),
    );
  };
}

/** Values uniform in ±√3 × scale (variance scale²) from mulberry32 seeded by `seed`: the same on every machine. */
function spread(count: number, seed: number, scale: number): Float32Array {
  const values = new Float32Array(count);
  let state = seed >>> 0;
  for (let index = 0; index < count; index += 1) {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), state | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    values[index] = (((mixed ^ (mixed >>> 14)) >>> 0) / 2 ** 32 - 0.5) * 2 * Math.sqrt(3) * scale;
  }
  return values;
}

/** The input the reference runs on: `[rows, width]` values of unit variance. */
export const referenceInput = ({ rows, width } = REFERENCE) => spread(rows * width, 7919, 1);

/** Weights of unit variance gain (uniform in ±√(3 / width)), so values neither vanish nor saturate over the layers; the same on every machine. */
function weights(layer: number, width: number): Uint8Array {
  return new Uint8Array(spread(width * width, layer + 1, 1 / Math.sqrt(width)).buffer);
}

/** The reference model's bytes (an ONNX ModelProto): input `x`, output `y`. */
export function referenceModel({ rows, width, layers } = REFERENCE): Uint8Array {
  const writer = protobuf.Writer.create();
  varint(writer, 1, IR_VERSION);
  string(writer, 2, 'edgeship-reference');
  message(writer, 7, (graph) => {
    for (let layer = 0; layer < layers; layer += 1) {
      const input = layer === 0 ? 'x' : `h${layer}`;
      message(graph, 1, (node) => {
        string(node, 1, input);
        string(node, 1, `w${layer}`);
        string(node, 2, `m${layer}`);
        string(node, 4, 'MatMul');
      });
      message(graph, 1, (node) => {
        string(node, 1, `m${layer}`);
        string(node, 2, layer === layers - 1 ? 'y' : `h${layer + 1}`);
        string(node, 4, 'Tanh');
      });
    }
    string(graph, 2, 'reference');
    for (let layer = 0; layer < layers; layer += 1) {
      message(graph, 5, (tensor) => {
        varint(tensor, 1, width);
        varint(tensor, 1, width);
        varint(tensor, 2, FLOAT);
        string(tensor, 8, `w${layer}`);
        tensor.uint32((9 << 3) | 2).bytes(weights(layer, width));
      });
    }
    message(graph, 11, valueInfo('x', [rows, width]));
    message(graph, 12, valueInfo('y', [rows, width]));
  });
  message(writer, 8, (opset) => {
    string(opset, 1, '');
    varint(opset, 2, OPSET);
  });
  return writer.finish();
}
