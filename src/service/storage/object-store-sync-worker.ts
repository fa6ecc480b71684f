/**
 * The helper thread behind submitSnapshotJobSync's checks of buckets in
 * object storage (see core/sync.ts): the SDK's requests are asynchronous,
 * and the caller's thread blocks while they run here.
 */
import { serveSyncCalls } from '../../core/sync-host.js';
import { prepareObjectStores, type PreparedInput, type PrepareSteps } from './object-store.js';
import type { JobTask } from '../types.js';

async function prepare(args: {
  task: Pick<JobTask, 'inputStore' | 'inputKey' | 'outputBucketDir' | 'sprites' | 'timeoutMs'>;
  steps: PrepareSteps;
}): Promise<PreparedInput | undefined> {
  return prepareObjectStores(args.task, args.steps);
}

serveSyncCalls({ prepare });
