/**
 * What tests need of server processes beyond the helpers (redis-server.ts,
 * nginx-server.ts, swift-s3.ts): a free loopback port, and the end of a
 * child process. The launchers' own (scripts/servers/process.mjs), typed.
 */
import type { ChildProcess } from 'node:child_process';

import { exited as childExited, freePort as anyFreePort } from '../../scripts/servers/process.mjs';

/** A port nobody listens on now: listen on port 0, read the port, close. */
export function freePort(): Promise<number> {
  return anyFreePort() as Promise<number>;
}

/** Resolves once the child has exited (at once when it has). */
export function exited(child: ChildProcess): Promise<void> {
  return childExited(child) as Promise<void>;
}
