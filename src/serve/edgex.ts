import type { Dim, ModelContract, TensorSpec } from '../core/contract.ts';
import { InferenceRequestError, type CheckedTensor } from '../core/oip.ts';
import { DATATYPES, oipOf, writeValue, type OipDatatype } from '../core/tensor-types.ts';

/**
 * How EdgeX readings become the model's input: the input's name, the resource of each feature,
 * and (for a window input) which axis holds time: `steps-features` is [batch, steps, features],
 * `features-steps` is [batch, features, steps]; worked out from the shape when only one fits.
 */
export interface EdgexMapping {
  input: string;
  features: string[];
  layout?: EdgexLayout;
  /**
   * The model's other inputs, each one value per request: a number (a constant the operator
   * names) or the name of an EdgeX resource whose reading in the event fills it.
   */
  values?: Record<string, number | string>;
}

/** How one of the model's other inputs is filled per event. */
interface OtherInput {
  spec: TensorSpec;
  datatype: OipDatatype;
  dims: number[];
  value: number | string;
}

export type EdgexLayout = 'steps-features' | 'features-steps';

interface Reading {
  resourceName: string;
  value: string | number;
}

const bad = (message: string) => new InferenceRequestError(400, message);

/** A device name as EdgeX allows one (RFC 3986 unreserved characters), at most this long. */
const DEVICE_NAME = /^[A-Za-z0-9._~-]{1,128}$/;
/** Values the windows of all devices hold together (about 64 MiB): the least recently heard devices go first past it. */
const MAX_BUFFERED_VALUES = 8 * 2 ** 20;

/** Whether a body is an EdgeX core-data event (an AddEventRequest or a bare Event). */
export function isEdgexEvent(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const event = (body as { event?: unknown }).event ?? body;
  return (
    typeof event === 'object' &&
    event !== null &&
    Array.isArray((event as { readings?: unknown }).readings) &&
    'deviceName' in event
  );
}

/**
 * Turns EdgeX events into model inputs. Each event is one time step: one value per mapped
 * resource. A model that takes a window gets the device's last `steps` events, laid out as its
 * input is; until a device has sent that many, `accept` says how many are buffered.
 */
export class EdgexWindows {
  private readonly rows = new Map<string, number[][]>();
  /** Values the windows hold, all devices together. */
  private values = 0;
  private readonly spec: TensorSpec;
  private readonly datatype: OipDatatype;
  private readonly layout: EdgexLayout;
  private readonly others: OtherInput[];
  /** How many events the model needs per inference. */
  readonly steps: number;

  /** Throws, naming the input and its shape, when the mapping cannot fill the model's input. */
  constructor(
    private readonly mapping: EdgexMapping,
    contract: Pick<ModelContract, 'inputs'>,
    /** Devices whose windows are kept; the one heard from least recently goes first. */
    private readonly maxDevices = 10_000,
    /** Values all windows hold together; past it, the devices heard from least recently go first. */
    private readonly maxValues = MAX_BUFFERED_VALUES,
  ) {
    const spec = contract.inputs.find((input) => input.name === mapping.input);
    if (!spec)
      throw new InferenceRequestError(
        400,
        `EdgeX mapping: the model has no input "${mapping.input}" (its inputs: ${contract.inputs.map((input) => input.name).join(', ')})`,
      );
    const datatype = oipOf(spec.dtype);
    if (!datatype || datatype === 'BYTES' || datatype === 'BOOL')
      throw new InferenceRequestError(400, `EdgeX mapping: input "${spec.name}" takes ${spec.dtype}, not numbers`);
    this.spec = spec;
    this.datatype = datatype;
    [this.layout, this.steps] = layoutOf(spec, mapping);
    this.others = contract.inputs
      .filter((input) => input.name !== mapping.input)
      .map((input) => otherInput(input, mapping.values?.[input.name]));
    const unknown = Object.keys(mapping.values ?? {}).filter(
      (name) => !contract.inputs.some((input) => input.name === name && name !== mapping.input),
    );
    if (unknown.length > 0)
      throw new InferenceRequestError(
        400,
        `EdgeX mapping: --edgex-value names ${unknown.map((name) => `"${name}"`).join(', ')}, which the model has no other input of (its inputs: ${contract.inputs.map((input) => input.name).join(', ')})`,
      );
  }

  accept(body: unknown): { device: string; inputs?: CheckedTensor[]; buffered: number } {
    const event = ((body as { event?: unknown }).event ?? body) as { deviceName?: unknown; readings: unknown[] };
    const device = event.deviceName;
    if (typeof device !== 'string') throw bad('EdgeX event: expected "deviceName"');
    if (!DEVICE_NAME.test(device))
      throw bad(
        `EdgeX event: expected a deviceName of 1 to 128 letters, digits, - . _ or ~ (as EdgeX names devices), found ${device.length} characters${device.length <= 128 ? ` (${JSON.stringify(device)})` : ''}`,
      );
    const readings = event.readings.filter(
      (reading): reading is Reading => typeof reading === 'object' && reading !== null && 'resourceName' in reading,
    );
    const row = this.mapping.features.map((feature) => {
      const reading = readings.find((candidate) => candidate.resourceName === feature);
      if (!reading)
        throw bad(
          `EdgeX event from ${device}: no reading of "${feature}" (the model's input "${this.mapping.input}" takes ${this.mapping.features.join(', ')})`,
        );
      const value = Number(reading.value);
      if (!Number.isFinite(value))
        throw bad(
          `EdgeX event from ${device}: reading "${feature}" is ${JSON.stringify(reading.value)}, expected a number`,
        );
      return value;
    });
    const before = this.rows.get(device) ?? [];
    const rows = [...before, row].slice(-this.steps);
    // Re-inserted, so the map's order is least recently heard from first.
    this.rows.delete(device);
    this.rows.set(device, rows);
    this.values += (rows.length - before.length) * row.length;
    while (this.rows.size > 1 && (this.rows.size > this.maxDevices || this.values > this.maxValues)) {
      const [oldest, dropped] = this.rows.entries().next().value as [string, number[][]];
      this.rows.delete(oldest);
      this.values -= dropped.length * row.length;
    }
    if (rows.length < this.steps) return { device, buffered: rows.length };
    return {
      device,
      buffered: rows.length,
      inputs: [this.tensor(device, rows), ...this.others.map((other) => this.other(device, other, readings))],
    };
  }

  private other(device: string, other: OtherInput, readings: Reading[]): CheckedTensor {
    let value: number;
    if (typeof other.value === 'number') value = other.value;
    else {
      const reading = readings.find((candidate) => candidate.resourceName === other.value);
      if (!reading)
        throw bad(
          `EdgeX event from ${device}: no reading of "${other.value}" (the model's input "${other.spec.name}" takes it)`,
        );
      value = Number(reading.value);
      if (!Number.isFinite(value))
        throw bad(
          `EdgeX event from ${device}: reading "${String(other.value)}" is ${JSON.stringify(reading.value)}, expected a number`,
        );
    }
    const data = DATATYPES[other.datatype].make(1);
    const problem = writeValue(other.datatype, data, 0, value);
    if (problem)
      throw bad(
        `EdgeX event from ${device}: ${problem} for ${other.datatype} (input "${other.spec.name}"), found ${value}`,
      );
    return { name: other.spec.name, dtype: other.spec.dtype, dims: other.dims, data };
  }

  private tensor(device: string, rows: number[][]): CheckedTensor {
    const features = this.mapping.features.length;
    const rank = this.spec.shape.length;
    const dims =
      rank === 2
        ? [1, features]
        : this.layout === 'steps-features'
          ? [1, this.steps, features]
          : [1, features, this.steps];
    const values =
      this.layout === 'steps-features'
        ? rows.flat()
        : this.mapping.features.flatMap((_, feature) => rows.map((row) => row[feature] as number));
    const data = DATATYPES[this.datatype].make(values.length);
    values.forEach((value, index) => {
      const problem = writeValue(this.datatype, data, index, value);
      if (problem)
        throw bad(
          `EdgeX event from ${device}: ${problem} for ${this.datatype} (input "${this.spec.name}"), found ${value}`,
        );
    });
    return { name: this.spec.name, dtype: this.spec.dtype, dims, data };
  }
}

/** One of the model's other inputs as one value per request, or why EdgeX events cannot fill it. */
function otherInput(spec: TensorSpec, value: number | string | undefined): OtherInput {
  if (value === undefined)
    throw new InferenceRequestError(
      400,
      `EdgeX mapping: the model's input "${spec.name}" is not filled by the events; name its value with --edgex-value ${spec.name}=<number or resource name>`,
    );
  const datatype = oipOf(spec.dtype);
  if (!datatype || datatype === 'BYTES')
    throw new InferenceRequestError(400, `EdgeX mapping: input "${spec.name}" takes ${spec.dtype}, not numbers`);
  // One value per request: [batch] or [batch, 1, ...]; a batch of one.
  if (spec.shape.length === 0 || spec.shape.slice(1).some((dim) => dim !== 1)) {
    throw new InferenceRequestError(
      400,
      `EdgeX mapping: input "${spec.name}" ${JSON.stringify(spec.shape.map((dim) => (typeof dim === 'number' ? dim : -1)))} holds more than one value per request; --edgex-value fills inputs of shape [batch] or [batch, 1]`,
    );
  }
  return { spec, datatype, dims: [1, ...spec.shape.slice(1).map(() => 1)], value };
}

const fits = (dim: Dim | undefined, size: number) => typeof dim !== 'number' || dim === size;

/** Which axis of the input holds time, and how many steps it takes. */
function layoutOf(spec: TensorSpec, mapping: EdgexMapping): [EdgexLayout, number] {
  const features = mapping.features.length;
  const shape = `input "${spec.name}" ${JSON.stringify(spec.shape.map((dim) => (typeof dim === 'number' ? dim : -1)))}`;
  if (spec.shape.length === 2) {
    if (!fits(spec.shape[1], features))
      throw new InferenceRequestError(
        400,
        `EdgeX mapping: ${shape} takes ${String(spec.shape[1])} features, the mapping names ${features} (${mapping.features.join(', ')})`,
      );
    return ['steps-features', 1];
  }
  if (spec.shape.length !== 3)
    throw new InferenceRequestError(
      400,
      `EdgeX mapping: ${shape} is not [batch, features] or a window ([batch, steps, features] or [batch, features, steps])`,
    );
  const [, first, second] = spec.shape;
  const candidates: [EdgexLayout, Dim | undefined, Dim | undefined][] = [
    ['steps-features', second, first],
    ['features-steps', first, second],
  ];
  const possible = candidates.filter(
    ([layout, featureAxis, stepAxis]) =>
      (mapping.layout === undefined || mapping.layout === layout) &&
      featureAxis === features &&
      typeof stepAxis === 'number',
  );
  if (possible.length === 1) return [possible[0]![0], possible[0]![2] as number];
  if (possible.length > 1)
    throw new InferenceRequestError(
      400,
      `EdgeX mapping: ${shape} has ${features} on both axes; say which holds the features with --edgex-layout steps-features or features-steps`,
    );
  throw new InferenceRequestError(
    400,
    `EdgeX mapping: ${shape} has no fixed axis of ${features} features (${mapping.features.join(', ')}) beside a fixed number of steps${mapping.layout ? ` in the layout ${mapping.layout}` : ''}`,
  );
}
