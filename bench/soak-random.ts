// Randomness of the soak run (bench/soak.ts): seeded, one generator per caller and one for
// the chaos, so that the mix each of them draws does not depend on how their calls
// interleave, and a run can be repeated with its seed.

/** A generator of floats in [0, 1). */
export type Random = () => number;

/**
 * mulberry32: a small seeded generator.
 *
 * @param seed - any integer; the same seed draws the same numbers
 * @returns the generator
 */
export function generator(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An integer drawn evenly from min to max, both included.
 *
 * @param random - the generator to draw from
 * @param min - the smallest
 * @param max - the largest
 * @returns the integer
 */
export function int(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}
