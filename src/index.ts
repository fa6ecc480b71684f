export { ErrorCodes, SnapshotError, type ErrorCode } from './core/errors.js';
export type { CallLimits, CommonOptions, FrameType, SnapshotOptions, SnapshotsOptions } from './core/options.js';
export { DEFAULT_LIMITS, MAX_IMAGE_SIDE, type Limits } from './core/limits.js';
export { probe, probeSync, snapshot, snapshots, type ProbeOptions, type ProbeResult, type Snapshot } from './core/snapshot.js';
export { snapshotSync, snapshotsSync, type SyncSnapshotOptions, type SyncSnapshotsOptions } from './core/sync-api.js';
export { ffmpegVersions } from './core/versions.js';
export {
  SnapshotService,
  type JobProgress,
  type SnapshotServiceOptions,
} from './service/service.js';
export type {
  AddPipelineRequest,
  Isolation,
  JobState,
  MNSMessageResult,
  NotificationMessage,
  NotifyConfig,
  ObjectLocation,
  Pipeline,
  PipelineResponse,
  PipelineState,
  QueryPipelineListRequest,
  QueryPipelineListResponse,
  QuerySnapshotJobListRequest,
  QuerySnapshotJobListResponse,
  ReceivedMessage,
  SnapshotJob,
  SubmitSnapshotJobRequest,
  SubmitSnapshotJobResponse,
  Subscriber,
  UpdatePipelineRequest,
} from './service/types.js';
