#!/usr/bin/env node
/**
 * The `framesnap` executable. Turns on Node's compile cache where Node has
 * one (22.1 and later: later starts skip compiling framesnap's and sharp's
 * JavaScript), then runs the command (run.ts), loaded after it so that the
 * cache covers it.
 */
import module from 'node:module';

(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

const { run } = await import('./run.js');
process.exitCode = await run(process.argv.slice(2));
