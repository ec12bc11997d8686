import type { TensorSpec } from '../core/contract.ts';
import { InferenceRequestError, type CheckedTensor } from '../core/oip.ts';

/** How EdgeX readings become the model's input: the input's name and the resource of each feature. */
export interface EdgexMapping {
  input: string;
  features: string[];
}

interface Reading {
  resourceName: string;
  value: string | number;
}

const bad = (message: string) => new InferenceRequestError(400, message);

/** Whether a body is an EdgeX core-data event (an AddEventRequest or a bare Event). */
export function isEdgexEvent(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const event = (body as { event?: unknown }).event ?? body;
  return typeof event === 'object' && event !== null && Array.isArray((event as { readings?: unknown }).readings) && 'deviceName' in event;
}

/**
 * Turns EdgeX events into model inputs. Each event is one time step: one value per mapped
 * resource. A model that takes a window ([batch, steps, features]) gets the device's last
 * `steps` events; until a device has sent that many, `accept` says how many are buffered.
 */
export class EdgexWindows {
  private readonly rows = new Map<string, number[][]>();

  constructor(
    private readonly mapping: EdgexMapping,
    private readonly spec: TensorSpec,
    /** Devices whose windows are kept; the one heard from least recently goes first. */
    private readonly maxDevices = 10_000,
  ) {
    const features = spec.shape.at(-1);
    if (typeof features === 'number' && features !== mapping.features.length) {
      throw new InferenceRequestError(400, `EdgeX mapping: input "${spec.name}" takes ${features} features, the mapping names ${mapping.features.length} (${mapping.features.join(', ')})`);
    }
  }

  /** How many events the model needs per inference. */
  get steps(): number {
    const steps = this.spec.shape.length === 3 ? this.spec.shape[1] : 1;
    return typeof steps === 'number' ? steps : 1;
  }

  accept(body: unknown): { device: string; input?: CheckedTensor; buffered: number } {
    const event = ((body as { event?: unknown }).event ?? body) as { deviceName?: unknown; readings: unknown[] };
    const device = event.deviceName;
    if (typeof device !== 'string') throw bad('EdgeX event: expected "deviceName"');
    const readings = event.readings.filter((reading): reading is Reading => typeof reading === 'object' && reading !== null && 'resourceName' in reading);
    const row = this.mapping.features.map((feature) => {
      const reading = readings.find((candidate) => candidate.resourceName === feature);
      if (!reading) throw bad(`EdgeX event from ${device}: no reading of "${feature}" (the model's input "${this.mapping.input}" takes ${this.mapping.features.join(', ')})`);
      const value = Number(reading.value);
      if (!Number.isFinite(value)) throw bad(`EdgeX event from ${device}: reading "${feature}" is ${JSON.stringify(reading.value)}, expected a number`);
      return value;
    });
    const rows = [...(this.rows.get(device) ?? []), row].slice(-this.steps);
    // Re-inserted, so the map's order is least recently heard from first.
    this.rows.delete(device);
    this.rows.set(device, rows);
    if (this.rows.size > this.maxDevices) this.rows.delete(this.rows.keys().next().value as string);
    if (rows.length < this.steps) return { device, buffered: rows.length };
    const dims = this.spec.shape.length === 3 ? [1, this.steps, row.length] : [1, row.length];
    return { device, buffered: rows.length, input: { name: this.spec.name, dtype: this.spec.dtype, dims, data: rows.flat() } };
  }
}
