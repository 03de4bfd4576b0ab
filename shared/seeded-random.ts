// mulberry32: a small seeded PRNG giving numbers in [0, 1). Used where a result must be the same
// on every machine and run (the held-out split, the demo's and the tests' synthetic data), never
// where it must be secret.

export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
