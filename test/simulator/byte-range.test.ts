import { describe, expect, it } from 'vitest';
import { parseRange } from '../../src/simulator/byte-range.ts';
import { ServedRanges } from '../../src/simulator/served-ranges.ts';

describe('parseRange', () => {
  it.each([
    [undefined, 100, { kind: 'none' }],
    ['bytes=0-9', 100, { kind: 'range', start: 0, end: 10 }],
    ['bytes=90-', 100, { kind: 'range', start: 90, end: 100 }],
    ['bytes=90-500', 100, { kind: 'range', start: 90, end: 100 }],
    ['bytes=-10', 100, { kind: 'range', start: 90, end: 100 }],
    ['bytes=-500', 100, { kind: 'range', start: 0, end: 100 }],
    ['bytes=100-', 100, { kind: 'unsatisfiable' }],
    ['bytes=-0', 100, { kind: 'unsatisfiable' }],
    ['bytes=0-', 0, { kind: 'unsatisfiable' }],
    ['bytes=9-5', 100, { kind: 'none' }],
    ['bytes=0-1,4-5', 100, { kind: 'none' }],
    ['lines=0-1', 100, { kind: 'none' }],
    ['bytes=-', 100, { kind: 'none' }],
  ] as const)('%s of %i bytes', (header, size, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });
});

describe('ServedRanges', () => {
  it('covers a file once every byte was served, in any order and overlap', () => {
    const r = new ServedRanges();
    expect(r.covers(0)).toBe(false);
    r.add(50, 100);
    r.add(0, 10);
    expect(r.covers(100)).toBe(false);
    r.add(5, 51);
    expect(r.covers(100)).toBe(true);
    expect(r.covers(101)).toBe(false);
    const empty = new ServedRanges();
    empty.add(0, 0);
    expect(empty.covers(0)).toBe(true);
  });
});
