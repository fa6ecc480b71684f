// Small helpers shared by the cases and the RSS child.

/** A small seeded generator (mulberry32), so random times are the same every run. */
export function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` whole-millisecond times in [0, maxMs], from `seed`. */
export function seededTimes(seed, count, maxMs) {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => Math.round(random() * maxMs));
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function inParallel(items, limit, work) {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Job `index`'s time: the middle of a different 3 s GOP of the 60 s clip each job (19 GOPs, wrapping round). */
export function jobTime(index) {
  return 1500 + (index % 19) * 3000;
}
