import protobuf from 'protobufjs/minimal.js';

/** Top-level facts of an ONNX ModelProto that ONNX Runtime does not expose. */
export interface ModelHeader {
  irVersion: number;
  producer: string;
  /** Opset of the default (ai.onnx) domain. */
  opset: number | undefined;
  hasGraph: boolean;
  metadata: Record<string, string>;
}

// Field numbers from onnx.proto (ModelProto, OperatorSetIdProto, StringStringEntryProto).
const IR_VERSION = 1;
const PRODUCER_NAME = 2;
const PRODUCER_VERSION = 3;
const GRAPH = 7;
const OPSET_IMPORT = 8;
const METADATA_PROPS = 14;

/**
 * Reads the top-level fields of a ModelProto and skips the graph without decoding it, so
 * inspecting a large model costs one pass over its bytes. Throws on truncated input.
 */
export function readModelHeader(bytes: Uint8Array): ModelHeader {
  const reader = protobuf.Reader.create(bytes);
  const header: ModelHeader = { irVersion: 0, producer: '', opset: undefined, hasGraph: false, metadata: {} };
  let producerVersion = '';
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === IR_VERSION && wireType === 0) header.irVersion = Number(reader.int64());
    else if (field === PRODUCER_NAME && wireType === 2) header.producer = reader.string();
    else if (field === PRODUCER_VERSION && wireType === 2) producerVersion = reader.string();
    else if (field === GRAPH && wireType === 2) {
      header.hasGraph = true;
      reader.skipType(wireType);
    } else if (field === OPSET_IMPORT && wireType === 2) {
      const { domain, version } = readOpset(reader.bytes());
      if (domain === '' || domain === 'ai.onnx') header.opset = version;
    } else if (field === METADATA_PROPS && wireType === 2) {
      const [key, value] = readEntry(reader.bytes());
      header.metadata[key] = value;
    } else if (field === 0 || wireType > 5) {
      throw new Error(`invalid protobuf tag ${tag} at byte ${reader.pos}`);
    } else reader.skipType(wireType);
  }
  if (producerVersion) header.producer = `${header.producer} ${producerVersion}`.trim();
  return header;
}

function readOpset(bytes: Uint8Array): { domain: string; version: number } {
  const reader = protobuf.Reader.create(bytes);
  let domain = '';
  let version = 0;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === 1) domain = reader.string();
    else if (tag >>> 3 === 2) version = Number(reader.int64());
    else reader.skipType(tag & 7);
  }
  return { domain, version };
}

function readEntry(bytes: Uint8Array): [string, string] {
  const reader = protobuf.Reader.create(bytes);
  let key = '';
  let value = '';
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === 1) key = reader.string();
    else if (tag >>> 3 === 2) value = reader.string();
    else reader.skipType(tag & 7);
  }
  return [key, value];
}
