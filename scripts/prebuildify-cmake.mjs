#!/usr/bin/env node
// prebuildify always runs node-gyp; this stand-in runs cmake-js instead, and
// prebuildify collects build/Release/*.node into prebuilds/.
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
if (args.includes('rebuild') || args.includes('build') || args.includes('configure')) {
  const result = spawnSync('npx', ['--no-install', 'cmake-js', 'rebuild'], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}
process.exit(0);
