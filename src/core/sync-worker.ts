/** The helper thread behind snapshotSync and snapshotsSync (see sync.ts). */
import type { ResolvedOptions } from './options.js';
import { takeSnapshots, type Snapshot } from './snapshot.js';
import { serveSyncCalls } from './sync-host.js';

serveSyncCalls({
  snapshots: (args: { path: string; options: ResolvedOptions }, control): Promise<Snapshot[]> =>
    takeSnapshots(args.path, args.options, control),
});
