import { describe, expect, it } from 'vitest';
import { EdgexWindows, isEdgexEvent } from '../../src/serve/edgex.ts';

const spec = { inputs: [{ name: 'readings', dtype: 'float32', shape: ['batch', 2, 2] }] };
const event = (deviceName: string, a: number, b = 1) => ({
  deviceName,
  readings: [
    { resourceName: 'a', value: String(a) },
    { resourceName: 'b', value: b },
  ],
});

describe('EdgeX windows', () => {
  it('tells EdgeX events from OIP requests', () => {
    expect(isEdgexEvent({ apiVersion: 'v3', event: event('d', 1) })).toBe(true);
    expect(isEdgexEvent(event('d', 1))).toBe(true);
    expect(isEdgexEvent({ inputs: [] })).toBe(false);
  });

  it('keeps the last steps of each device and forgets the one heard from least recently beyond the limit', () => {
    const windows = new EdgexWindows({ input: 'readings', features: ['a', 'b'], layout: 'steps-features' }, spec, 2);
    expect(windows.accept(event('d1', 1))).toEqual({ device: 'd1', buffered: 1 });
    expect(windows.accept(event('d2', 5))).toEqual({ device: 'd2', buffered: 1 });
    expect(windows.accept(event('d1', 2)).inputs?.[0]).toEqual({
      name: 'readings',
      dtype: 'float32',
      dims: [1, 2, 2],
      data: Float32Array.from([1, 1, 2, 1]),
    });
    expect(windows.accept(event('d1', 3)).inputs?.[0]?.data).toEqual(Float32Array.from([2, 1, 3, 1]));
    windows.accept(event('d3', 9)); // d2 is the least recent: forgotten
    expect(windows.accept(event('d2', 6))).toEqual({ device: 'd2', buffered: 1 }); // and now d1 goes
    expect(windows.accept(event('d3', 10)).inputs?.[0]?.data).toEqual(Float32Array.from([9, 1, 10, 1]));
    expect(windows.accept(event('d1', 4))).toEqual({ device: 'd1', buffered: 1 });
  });

  it('refuses device names EdgeX would not give, without echoing a long one, and bounds what all windows hold together', () => {
    const windows = new EdgexWindows(
      { input: 'readings', features: ['a', 'b'], layout: 'steps-features' },
      spec,
      10_000,
      6,
    );
    expect(() => windows.accept(event('x'.repeat(256 * 1024), 1))).toThrow(
      /^EdgeX event: expected a deviceName of 1 to 128 letters, digits, - \. _ or ~ \(as EdgeX names devices\), found 262144 characters$/,
    );
    expect(() => windows.accept(event('pump 7<img>', 1))).toThrow('found 11 characters ("pump 7<img>")');
    expect(() => windows.accept(event('', 1))).toThrow('found 0 characters');
    // Six values at most: three devices of one row (two values) each; a fourth pushes out the least recent.
    for (const device of ['d1', 'd2', 'd3']) windows.accept(event(device, 1));
    windows.accept(event('d4', 1));
    expect(windows.accept(event('d1', 2))).toEqual({ device: 'd1', buffered: 1 });
    // A device's own second row counts too: d3 (the least recent now) goes.
    expect(windows.accept(event('d4', 2)).inputs?.[0]?.data).toEqual(Float32Array.from([1, 1, 2, 1]));
    expect(windows.accept(event('d3', 5))).toEqual({ device: 'd3', buffered: 1 });
  });

  it('lays a window out as the input is: [batch, steps, features] or [batch, features, steps], or says which to choose', () => {
    const channelsFirst = { inputs: [{ name: 'signal', dtype: 'float32', shape: ['batch', 3, 4] }] };
    const windows = new EdgexWindows({ input: 'signal', features: ['x', 'y', 'z'] }, channelsFirst);
    expect(windows.steps).toBe(4);
    const sample = (step: number) => ({
      deviceName: 'd',
      readings: ['x', 'y', 'z'].map((name, feature) => ({ resourceName: name, value: 10 * feature + step })),
    });
    for (const step of [0, 1, 2]) expect(windows.accept(sample(step)).inputs?.[0]).toBeUndefined();
    // Feature by feature, each over its four steps.
    expect(windows.accept(sample(3)).inputs?.[0]).toEqual({
      name: 'signal',
      dtype: 'float32',
      dims: [1, 3, 4],
      data: Float32Array.from([0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23]),
    });
    const square = { inputs: [{ name: 'signal', dtype: 'float32', shape: ['batch', 3, 3] }] };
    expect(() => new EdgexWindows({ input: 'signal', features: ['x', 'y', 'z'] }, square)).toThrow(
      'has 3 on both axes; say which holds the features with --edgex-layout',
    );
    expect(
      new EdgexWindows({ input: 'signal', features: ['x', 'y', 'z'], layout: 'features-steps' }, square).steps,
    ).toBe(3);
    const ints = new EdgexWindows(
      { input: 'level', features: ['x'] },
      { inputs: [{ name: 'level', dtype: 'uint8', shape: ['batch', 1] }] },
    );
    expect(() => ints.accept({ deviceName: 'd', readings: [{ resourceName: 'x', value: '300' }] })).toThrow(
      'EdgeX event from d: expected a value from 0 to 255 for UINT8 (input "level"), found 300',
    );
  });

  it('refuses a mapping that does not fit the input, and readings that are not numbers', () => {
    expect(() => new EdgexWindows({ input: 'readings', features: ['a'] }, spec)).toThrow(
      'EdgeX mapping: input "readings" [-1,2,2] has no fixed axis of 1 features (a) beside a fixed number of steps',
    );
    expect(() =>
      new EdgexWindows({ input: 'readings', features: ['a', 'b'], layout: 'steps-features' }, spec).accept(
        event('d', Number.NaN),
      ),
    ).toThrow('EdgeX event from d: reading "a" is "NaN", expected a number');
  });

  it("fills the model's other inputs with a constant or a reading the operator names, and says which input is left unfilled", () => {
    const contract = {
      inputs: [
        { name: 'window', dtype: 'float32', shape: ['batch', 2, 3] },
        { name: 'sensor_id', dtype: 'int64', shape: ['batch'] },
        { name: 'gain', dtype: 'float32', shape: ['batch', 1] },
      ],
    };
    const mapping = { input: 'window', features: ['x', 'y'], layout: 'features-steps' as const };
    expect(() => new EdgexWindows(mapping, contract)).toThrow(
      'EdgeX mapping: the model\'s input "sensor_id" is not filled by the events; name its value with --edgex-value sensor_id=<number or resource name>',
    );
    expect(() => new EdgexWindows({ ...mapping, values: { sensor_id: 1, gain: 2, extra: 3 } }, contract)).toThrow(
      '--edgex-value names "extra", which the model has no other input of (its inputs: window, sensor_id, gain)',
    );
    expect(
      () =>
        new EdgexWindows(
          { ...mapping, values: { sensor_id: 1, gain: 1 } },
          { inputs: [...contract.inputs.slice(0, 2), { name: 'gain', dtype: 'float32', shape: ['batch', 2] }] },
        ),
    ).toThrow('input "gain" [-1,2] holds more than one value per request');
    const windows = new EdgexWindows({ ...mapping, values: { sensor_id: 'Id', gain: 0.5 } }, contract);
    const event = (step: number, id: string) => ({
      deviceName: 'd',
      readings: [
        { resourceName: 'x', value: step },
        { resourceName: 'y', value: 10 + step },
        { resourceName: 'Id', value: id },
      ],
    });
    expect(windows.accept(event(0, '4')).inputs).toBeUndefined();
    expect(windows.accept(event(1, '4')).inputs).toBeUndefined();
    const [, id, gain] = windows.accept(event(2, '5')).inputs ?? [];
    expect(id).toEqual({ name: 'sensor_id', dtype: 'int64', dims: [1], data: BigInt64Array.from([5n]) });
    expect(gain).toEqual({ name: 'gain', dtype: 'float32', dims: [1, 1], data: Float32Array.from([0.5]) });
    expect(() => windows.accept(event(3, 'x'))).toThrow('EdgeX event from d: reading "Id" is "x", expected a number');
  });
});
