import { describe, expect, it } from 'vitest';
import { Listeners } from './listeners.js';

describe('Listeners', () => {
  it('calls listeners in order with the arguments; the remover removes', () => {
    const l = new Listeners<[number]>();
    const seen: string[] = [];
    const offA = l.add((n) => seen.push(`a${n}`));
    l.add((n) => seen.push(`b${n}`));
    l.emit(1);
    offA();
    l.emit(2);
    expect(seen).toEqual(['a1', 'b1', 'b2']);
    expect(l.size).toBe(1);
  });

  it('a throwing listener stops neither the others nor the emitter', () => {
    const l = new Listeners();
    let called = 0;
    l.add(() => {
      throw new Error('bug');
    });
    l.add(() => called++);
    expect(() => l.emit()).not.toThrow();
    expect(called).toBe(1);
  });

  it('emits over a snapshot: a listener removing another during emit does not skip it this time', () => {
    const l = new Listeners();
    const seen: string[] = [];
    let offB = (): void => {};
    l.add(() => {
      seen.push('a');
      offB();
    });
    offB = l.add(() => seen.push('b'));
    l.emit();
    l.emit();
    expect(seen).toEqual(['a', 'b', 'a']);
  });
});
