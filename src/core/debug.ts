/**
 * framesnap's debug output, Node's way: `NODE_DEBUG=framesnap node app.js`
 * prints `FRAMESNAP <pid>: <message>` lines on stderr; without it each call
 * is a cheap no-op. Messages take util.format's placeholders (`%s`, `%d`,
 * `%j`, `%o`), so arguments are formatted only when the output is on:
 *
 *   import { debug } from './debug.js';
 *   debug('seek %s to %d ms', file, timeMs);
 *
 * Guard work done only to build a message with `if (debug.enabled)`.
 */
import { debuglog } from 'node:util';

export const debug = debuglog('framesnap');
