/**
 * Before the test files run: rebuilds what they import when its sources are
 * newer (the tests import ../dist and the addon, so running vitest alone
 * after an edit can never test a stale build), then makes every fixture once.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { fixture, RECIPES, type FixtureName } from './fixtures.js';

const root = fileURLToPath(new URL('..', import.meta.url));

function mtime(path: string): number {
  try {
    return statSync(join(root, path)).mtimeMs;
  } catch {
    return 0;
  }
}

/** The newest modification time under `paths`, skipping `skip` folders. */
function newest(paths: string[], skip: string[] = []): number {
  let latest = 0;
  const walk = (path: string): void => {
    if (skip.includes(path)) return;
    const stat = statSync(join(root, path));
    latest = Math.max(latest, stat.mtimeMs);
    if (stat.isDirectory()) for (const entry of readdirSync(join(root, path))) walk(`${path}/${entry}`);
  };
  for (const path of paths) walk(path);
  return latest;
}

function run(what: string, args: string[]): void {
  process.stderr.write(`global setup: ${what}\n`);
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`global setup: ${what} failed (exit status ${result.status})`);
}

function rebuildWhenStale(): void {
  if (newest(['native', 'CMakeLists.txt'], ['native/tests', 'native/fuzz']) > mtime('build/Release/framesnap.node')) {
    run('building the native addon', [join(root, 'node_modules/cmake-js/bin/cmake-js'), 'compile', '--log-level', 'warn']);
  }
  if (newest(['src', 'tsconfig.json']) > mtime('dist/index.js')) {
    // The package's own build: dist/ is made anew (no output of a deleted source survives), with its .d.cts twins.
    run('building dist/', [join(root, 'scripts/build-dist.mjs')]);
  }
}

export default async function setup(): Promise<void> {
  rebuildWhenStale();
  const names = Object.keys(RECIPES) as FixtureName[];
  // Two at a time: the machine has two cores.
  for (let i = 0; i < names.length; i += 2) {
    await Promise.all(names.slice(i, i + 2).map((name) => fixture(name)));
  }
}
