export { ErrorCodes, SnapshotError, type ErrorCode, type SnapshotErrorDetails, type SnapshotErrorJSON } from './core/errors.js';
export type { CallLimits, CommonOptions, FrameType, SnapshotOptions, SnapshotsOptions } from './core/options.js';
export type { NetworkOptions } from './core/input.js';
export { DEFAULT_LIMITS, MAX_IMAGE_SIDE, type Limits } from './core/limits.js';
export { formatFromExtension, IMAGE_FORMATS, type ImageFormat } from './core/formats.js';
export {
  probe,
  probeSync,
  snapshot,
  snapshots,
  type ProbeOptions,
  type ProbeResult,
  type Snapshot,
  type SnapshotInfo,
  type SnapshotResult,
} from './core/snapshot.js';
export { snapshotSync, snapshotsSync, type SyncSnapshotOptions, type SyncSnapshotsOptions } from './core/sync-api.js';
export { ffmpegVersions, type FfmpegVersions } from './core/versions.js';
export { SnapshotService, type SnapshotServiceOptions } from './service/service.js';
export type {
  AddPipelineRequest,
  DeletePipelineRequest,
  DeletePipelineResponse,
  FlagLike,
  Isolation,
  JobNotification,
  JobProgress,
  JobState,
  MNSMessageResult,
  NotificationMessage,
  NotifyConfig,
  NotifyDeliveryOptions,
  NumberLike,
  ObjectLocation,
  ObjectStoreBucket,
  Pipeline,
  PipelineResponse,
  PipelineState,
  QueryPipelineListRequest,
  QueryPipelineListResponse,
  QuerySnapshotJobListRequest,
  QuerySnapshotJobListResponse,
  ReceivedMessage,
  SearchPipelineRequest,
  SearchPipelineResponse,
  SnapshotConfig,
  SnapshotJob,
  SnapshotServiceEvents,
  SubmitSnapshotJobRequest,
  SubmitSnapshotJobResponse,
  SubOut,
  Subscriber,
  TileOut,
  UpdatePipelineRequest,
} from './service/types.js';
