import { describe, expect, it } from 'vitest';
import { EdgexWindows, isEdgexEvent } from '../../src/serve/edgex.ts';

const spec = { name: 'readings', dtype: 'float32', shape: ['batch', 2, 2] };
const event = (deviceName: string, a: number, b = 1) => ({ deviceName, readings: [{ resourceName: 'a', value: String(a) }, { resourceName: 'b', value: b }] });

describe('EdgeX windows', () => {
  it('tells EdgeX events from OIP requests', () => {
    expect(isEdgexEvent({ apiVersion: 'v3', event: event('d', 1) })).toBe(true);
    expect(isEdgexEvent(event('d', 1))).toBe(true);
    expect(isEdgexEvent({ inputs: [] })).toBe(false);
  });

  it('keeps the last steps of each device and forgets the one heard from least recently beyond the limit', () => {
    const windows = new EdgexWindows({ input: 'readings', features: ['a', 'b'] }, spec, 2);
    expect(windows.accept(event('d1', 1))).toEqual({ device: 'd1', buffered: 1 });
    expect(windows.accept(event('d2', 5))).toEqual({ device: 'd2', buffered: 1 });
    expect(windows.accept(event('d1', 2)).input).toEqual({ name: 'readings', dtype: 'float32', dims: [1, 2, 2], data: [1, 1, 2, 1] });
    expect(windows.accept(event('d1', 3)).input?.data).toEqual([2, 1, 3, 1]);
    windows.accept(event('d3', 9)); // d2 is the least recent: forgotten
    expect(windows.accept(event('d2', 6))).toEqual({ device: 'd2', buffered: 1 }); // and now d1 goes
    expect(windows.accept(event('d3', 10)).input?.data).toEqual([9, 1, 10, 1]);
    expect(windows.accept(event('d1', 4))).toEqual({ device: 'd1', buffered: 1 });
  });

  it('refuses a mapping that does not fit the input, and readings that are not numbers', () => {
    expect(() => new EdgexWindows({ input: 'readings', features: ['a'] }, spec)).toThrow('EdgeX mapping: input "readings" takes 2 features, the mapping names 1 (a)');
    expect(() => new EdgexWindows({ input: 'readings', features: ['a', 'b'] }, spec).accept(event('d', Number.NaN))).toThrow('EdgeX event from d: reading "a" is "NaN", expected a number');
  });
});
