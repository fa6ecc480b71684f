export { ErrorCodes, SnapshotError, type ErrorCode } from './errors.js';
export type { CallLimits, CommonOptions, FrameType, SnapshotOptions, SnapshotsOptions } from './options.js';
export { DEFAULT_LIMITS, MAX_IMAGE_SIDE, type Limits } from './limits.js';
export { probe, probeSync, snapshot, snapshots, type ProbeOptions, type ProbeResult, type Snapshot } from './snapshot.js';
export { snapshotSync, snapshotsSync, type SyncSnapshotOptions, type SyncSnapshotsOptions } from './sync-api.js';
export { ffmpegVersions } from './versions.js';
export {
  SnapshotService,
  type JobProgress,
  type QuerySnapshotJobListRequest,
  type QuerySnapshotJobListResponse,
  type SnapshotServiceOptions,
} from './service/service.js';
export type { Isolation } from './service/scheduler.js';
export type {
  AddPipelineRequest,
  Pipeline,
  PipelineResponse,
  PipelineState,
  QueryPipelineListRequest,
  QueryPipelineListResponse,
  UpdatePipelineRequest,
} from './service/pipelines.js';
export type { MNSMessageResult, NotificationMessage, NotifyConfig, ReceivedMessage, Subscriber } from './service/notifications.js';
export type { JobState, SnapshotJob, SubmitSnapshotJobResponse } from './service/job.js';
export type { ObjectLocation, SubmitSnapshotJobRequest } from './service/request.js';
