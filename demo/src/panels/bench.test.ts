import { describe, expect, it } from 'vitest';
import { niceCeil } from './bench.js';

describe('niceCeil', () => {
  it('rounds axis maxima up to 1, 2 or 5 times a power of ten', () => {
    expect(niceCeil(1)).toBe(1);
    expect(niceCeil(1.3)).toBe(2);
    expect(niceCeil(37)).toBe(50);
    expect(niceCeil(512)).toBe(1000);
    expect(niceCeil(0.3)).toBeCloseTo(0.5);
  });
});
