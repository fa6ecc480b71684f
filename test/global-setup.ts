/** Makes every fixture once, before the test files run in parallel. */
import { fixture, RECIPES, type FixtureName } from './fixtures.js';

export default async function setup(): Promise<void> {
  const names = Object.keys(RECIPES) as FixtureName[];
  // Two at a time: the machine has two cores.
  for (let i = 0; i < names.length; i += 2) {
    await Promise.all(names.slice(i, i + 2).map((name) => fixture(name)));
  }
}
