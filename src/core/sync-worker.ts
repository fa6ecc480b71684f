/** The helper thread behind snapshotSync and snapshotsSync (see sync.ts). */
import type { ResolvedInput } from './input.js';
import type { ResolvedOptions } from './options.js';
import { takeSnapshots, type Snapshot } from './snapshot.js';
import { serveSyncCalls } from './sync-host.js';

serveSyncCalls({
  snapshots: (args: { input: ResolvedInput; options: ResolvedOptions }, control): Promise<Snapshot[]> =>
    takeSnapshots(args.input, args.options, control),
});
