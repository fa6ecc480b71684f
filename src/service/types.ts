/**
 * The job API's shared types: the wire shapes of requests, jobs, pipelines
 * and messages, and the plan a worker runs. Types only: every layer of the
 * service imports them, and this module imports no code.
 */
import type { MessagePort } from 'node:worker_threads';

import type { ErrorCode } from '../core/errors.js';
import type { ImageFormat } from '../core/formats.js';
import type { Limits } from '../core/limits.js';
import type { NativeRemoteOptions } from '../core/native.js';
import type { FrameType } from '../core/options.js';

export type JobState = 'Submitted' | 'Snapshoting' | 'Success' | 'Fail';

export interface SnapshotJob {
  /** 32 lower-case hex digits. */
  Id: string;
  State: JobState;
  /** The error code of a failed job, '' otherwise. */
  Code: ErrorCode | '';
  Message: string;
  /** Images written, as a decimal string like the service's data type. */
  Count: string;
  /** Sprite sheets written, as a decimal string; only on jobs with TileOut. */
  TileCount?: string;
  /** UTC, YYYY-MM-DDThh:mm:ssZ. */
  CreationTime: string;
  PipelineId: string;
  UserData?: string;
  Input: ObjectLocation;
  /** The request's SnapshotConfig as it was given (parsed from JSON when it came as text). */
  SnapshotConfig: SnapshotConfig;
  /** framesnap's own, for asynchronous jobs: share of the expected images written, 0..100. */
  Percent?: number;
  /** The outcome of the completion message of a pipeline with a NotifyConfig. */
  MNSMessageResult?: MNSMessageResult;
  /**
   * framesnap's own: how many times the job has started, shown from 2 on
   * (with a durable store, a job whose process died runs again from the start).
   */
  Attempts?: number;
}

export interface SubmitSnapshotJobResponse {
  RequestId: string;
  SnapshotJob: SnapshotJob;
}

export interface ObjectLocation {
  Bucket: string;
  Location?: string;
  Object: string;
}

/**
 * A number as the wire sends it: a number, or a decimal string ("5", "0.5",
 * the documented form). The request parser refuses other strings.
 */
export type NumberLike = number | `${number}`;

/** A flag as the wire sends it: a boolean, or "true"/"false" (the documented form). */
export type FlagLike = boolean | 'true' | 'false';

/** SPEC section 3: what to snapshot and where the images go. Unknown fields are refused. */
export interface SnapshotConfig {
  /**
   * Where the images go; Object is a name template (SPEC section 4). Its
   * extension picks the format: .jpg/.jpeg (and any other) JPEG, .png,
   * .webp or .avif (framesnap's own).
   */
  OutputFile: ObjectLocation;
  /** Milliseconds, >= 0: the single snapshot's time, or the start of a series. */
  Time: NumberLike;
  /** Seconds between images, decimals allowed; 0 spreads Num images evenly to the end. */
  Interval?: NumberLike;
  /** Number of images, 1..10000. */
  Num?: NumberLike;
  /** Pixels, 8..4096; one given keeps the display aspect ratio. */
  Width?: NumberLike;
  Height?: NumberLike;
  /** 'intra' (the default): the keyframe at or before Time; 'normal': the exact frame. */
  FrameType?: FrameType;
  /** 30..100: the first image of a series at Time 0 is replaced when more than this percent of it is dark. */
  BlackLevel?: NumberLike;
  /** 0..255 (default 70): a pixel darker than this counts as dark. */
  PixelBlackThreshold?: NumberLike;
  /** Sprite sheets (SPEC section 6); needs TileOutputFile. */
  TileOut?: TileOut;
  /** Where the sprite sheets go; a template with {TileCount}. Its extension picks the format, as OutputFile's. */
  TileOutputFile?: ObjectLocation;
  /** 'vtt': also write a WebVTT thumbnail track. */
  Format?: 'vtt';
  /** What the WebVTT track points at; needs Format 'vtt'. */
  SubOut?: SubOut;
}

/** SPEC section 6: the layout of the sprite sheets. */
export interface TileOut {
  /** 1..10000, default 10. */
  Lines?: NumberLike;
  Columns?: NumberLike;
  /** Pixels, 8..4096; default the images' size. */
  CellWidth?: NumberLike;
  CellHeight?: NumberLike;
  /** Outer border, pixels, 0..4096 (default 0). */
  Margin?: NumberLike;
  /** Gap between cells, pixels, 0..4096 (default 0). */
  Padding?: NumberLike;
  /** Background: a CSS colour name, #RRGGBB, or 'random'; default black. */
  Color?: string;
  /** Also keep the single images (default true). */
  IsKeepCellPic?: FlagLike;
  /** Every N-th image becomes a cell (default 1). */
  CellSelStep?: NumberLike;
}

/** SPEC section 6: 'true' points the WebVTT cues into sprite cells instead of single images. */
export interface SubOut {
  IsSptFrag?: FlagLike;
}

export interface SubmitSnapshotJobRequest {
  /** JSON text (the wire form) or an object. */
  Input: string | ObjectLocation;
  /** JSON text (the wire form, checked when parsed) or an object. */
  SnapshotConfig: string | SnapshotConfig;
  PipelineId?: string;
  UserData?: string;
  /** Accepted for wire compatibility; must be "SubmitSnapshotJob" when present. */
  Action?: string;
}

/** How the times of a job are found (some need the video's duration). */
export type TimePlan =
  | { kind: 'single'; timeMs: number }
  | { kind: 'series'; startMs: number; intervalMs: number; count: number }
  | { kind: 'untilEnd'; startMs: number; intervalMs: number }
  | { kind: 'spread'; startMs: number; count: number };

/** SPEC section 5: the native filter for the first image (more than blackLevel percent of pixels darker than pixelThreshold). */
export interface BlackFrameFilter {
  readonly blackLevel: number;
  readonly pixelThreshold: number;
}

/** SPEC section 6: what the cues of the WebVTT track point at. */
export interface VttPlan {
  readonly pointsAt: 'images' | 'sprites';
}

export type PipelineState = 'Active' | 'Paused';

export interface Pipeline {
  Id: string;
  Name: string;
  State: PipelineState;
  /** Always "Standard": one kind of pipeline here. */
  Speed: 'Standard';
  NotifyConfig: NotifyConfig;
}

export interface AddPipelineRequest {
  Name: string;
  Speed?: string;
  /** JSON text or an object: {"Topic": name} or {"QueueName": name}. */
  NotifyConfig?: string | NotifyConfig;
}

export interface UpdatePipelineRequest {
  PipelineId: string;
  Name?: string;
  State?: PipelineState;
  NotifyConfig?: string | NotifyConfig;
}

export interface PipelineResponse {
  RequestId: string;
  Pipeline: Pipeline;
}

export interface SearchPipelineRequest {
  /** Active, Paused, or All (the default). */
  State?: PipelineState | 'All';
  /** 1-based; default 1. */
  PageNumber?: NumberLike;
  /** 1..100, default 10. */
  PageSize?: NumberLike;
}

export interface SearchPipelineResponse {
  RequestId: string;
  /** Pipelines matching State, on every page. */
  TotalCount: number;
  PageNumber: number;
  PageSize: number;
  /** By Name, then Id. */
  PipelineList: { Pipeline: Pipeline[] };
}

export interface DeletePipelineRequest {
  PipelineId: string;
}

export interface DeletePipelineResponse {
  RequestId: string;
  PipelineId: string;
}

export interface QueryPipelineListRequest {
  /** Up to 10 ids, comma-separated or as an array. */
  PipelineIds: string | string[];
}

export interface QueryPipelineListResponse {
  RequestId: string;
  PipelineList: { Pipeline: Pipeline[] };
  NonExistPids: { String: string[] };
}

/**
 * Where a pipeline's completion messages go: a topic (pushed to its
 * subscribers) or a queue (read with receiveMessage), not both. Names are
 * letters, digits and -, at most 256 characters.
 */
export interface NotifyConfig {
  Topic?: string;
  QueueName?: string;
}

export interface NotificationMessage {
  JobId: string;
  RequestId: string;
  Type: 'Snapshot';
  /** The job's final state: Success or Fail. */
  State: JobState;
  UserData: string;
  /** On failure: the job's Code. */
  Code?: ErrorCode;
  Message?: string;
}

/** As the cloud job records it: the message id, or why it was not delivered. */
export type MNSMessageResult = { MessageId: string } | { ErrorCode: string; ErrorMessage: string };

export interface ReceivedMessage {
  MessageId: string;
  /** The notification as JSON text, as the message service delivers it. */
  MessageBody: string;
}

export type Subscriber = ((message: NotificationMessage) => unknown) | string;

/**
 * The retry policy of a topic's subscribers (the service's notifyDelivery
 * option): each gets `attempts` tries (default 4), waiting `firstBackoffMs`
 * (default 200) before the second and doubling, each try failing after
 * `attemptTimeoutMs` (default 5000).
 */
export interface NotifyDeliveryOptions {
  /** 1..10. */
  attempts?: number;
  /** 0..60000. */
  firstBackoffMs?: number;
  /** 1..600000. */
  attemptTimeoutMs?: number;
}

/** The 'progress' event of SnapshotService: images taken of those expected (asynchronous jobs). */
export interface JobProgress {
  JobId: string;
  Done: number;
  Expected: number;
  /** 0..100. */
  Percent: number;
}

/** The 'notification' event of SnapshotService: how a job's completion message went. */
export interface JobNotification {
  JobId: string;
  MNSMessageResult: MNSMessageResult;
}

/**
 * The events of SnapshotService and their listeners' arguments, in the shape
 * of Node's EventEmitter event maps.
 */
export interface SnapshotServiceEvents {
  /** While an asynchronous job runs, after each image taken. */
  progress: [progress: JobProgress];
  /** A job has its final state (Success or Fail); a copy of it. */
  job: [job: SnapshotJob];
  /** A job's completion message was delivered, or failed. */
  notification: [notification: JobNotification];
}

export interface QuerySnapshotJobListRequest {
  /** Up to 10 ids, comma-separated or as an array. Without it, the filters below apply. */
  SnapshotJobIds?: string | string[];
  State?: SnapshotJob['State'];
  PipelineId?: string;
  /** UTC, YYYY-MM-DDThh:mm:ssZ, inclusive. */
  StartOfJobCreatedTimeRange?: string;
  EndOfJobCreatedTimeRange?: string;
  /** 1..100, default 10. */
  MaximumPageSize?: NumberLike;
  /** From the previous page's answer. */
  NextPageToken?: string;
}

export interface QuerySnapshotJobListResponse {
  RequestId: string;
  SnapshotJobList: { SnapshotJob: SnapshotJob[] };
  NonExistSnapshotJobIds: { String: string[] };
  /** Present when more jobs match than the page holds. */
  NextPageToken?: string;
}

export type Isolation = 'thread' | 'process';

/**
 * A bucket kept in an S3-compatible object store (S3, OSS through its S3
 * endpoint, MinIO, R2), as the service's `buckets` option names it instead of
 * a folder (docs/object-storage.md).
 */
export interface ObjectStoreBucket {
  /** The store's endpoint: an http(s) URL, e.g. https://s3.oss-cn-hangzhou.aliyuncs.com. */
  endpoint: string;
  /** The region requests are signed for, e.g. us-east-1 or oss-cn-hangzhou. */
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The bucket's name in the store, when it differs from the name requests use. */
  bucket?: string;
  /** Path-style addressing (endpoint/bucket/key): MinIO and most local servers; OSS refuses it. Default false. */
  forcePathStyle?: boolean;
  /**
   * Lets the native reader fetch inputs from this endpoint when it is a
   * loopback, private, link-local or unique-local address (an on-premise
   * MinIO, a test server). Default false: such addresses are refused.
   */
  allowPrivateNetwork?: boolean;
  /**
   * A PEM file of certificate authorities to trust instead of the system's,
   * for an https: endpoint whose certificate a private CA signed (an
   * on-premise MinIO): used by the SDK's requests and the native reader's.
   */
  caFile?: string;
  /**
   * Lifetime of the presigned URLs inputs are read through, in seconds,
   * 0..3600. Default: a synchronous job's deadline plus 60 s; an
   * asynchronous job's, 3600. 0 makes URLs that have expired when they are
   * read (to see how a job fails on one).
   */
  presignExpiresSeconds?: number;
}

/** A bucket in object storage as a job uses it: the name requests give, and its store. */
export interface ObjectStoreTarget {
  /** The bucket's name in requests (and messages). */
  name: string;
  store: ObjectStoreBucket;
}

/** Where a job's objects go: a bucket's real folder, or a bucket in object storage. */
export type OutputBucket = string | ObjectStoreTarget;

export interface JobTask {
  jobId: string;
  /**
   * Real path of the input, already confined to its bucket; for an input in
   * object storage, a presigned URL made for this run only (never stored,
   * never in a message), '' until it is made (storage/object-store.ts).
   */
  inputPath: string;
  /** The input key, URL-decoded. */
  inputKey: string;
  /** The input's bucket, when it is in object storage. */
  inputStore?: ObjectStoreTarget;
  /** Set with a presigned URL in inputPath: the native reader reads it by range requests, with these checks. */
  inputRemote?: NativeRemoteOptions;
  /** The images' bucket: its real folder, or its store. */
  outputBucketDir: OutputBucket;
  /** The output key template, URL-decoded. */
  outputTemplate: string;
  times: TimePlan;
  frameType: FrameType;
  width: number;
  height: number;
  /** The images' format, from OutputFile.Object's extension (request/names.ts). */
  format: ImageFormat;
  /** 1..100, for jpeg, webp and avif. */
  quality: number;
  /** Decoder threads: a few for a lone exact job (scheduler.ts), 1 when the pool is busy; 0 = FFmpeg's choice. */
  threads: number;
  /** 0 = no deadline. */
  timeoutMs: number;
  /** Shared flag; non-zero cancels. */
  abort: Int32Array;
  /** Pixel limits passed to every native call, and the sprite sheets' (limits.ts). */
  limits: Limits;
  /**
   * 'async': decode on the libuv pool, keeping this thread free to hear a
   * cancel message (a pool child process); default: block this thread (a
   * pool thread, whose flag is shared memory).
   */
  decode?: 'blocking' | 'async';
  /**
   * Where the job tells the service what it writes, before it writes it, so
   * the service can remove it if the worker dies mid-job; and how far it is.
   */
  progress?: MessagePort;
  /** SPEC section 5: the black-frame filter for the first image; absent: none. */
  blackFrames?: BlackFrameFilter;
  /** SPEC section 6: sprite sheets, with their bucket and name template. */
  sprites?: SpriteTask;
  /** SPEC section 6: a WebVTT thumbnail track. */
  vtt?: VttPlan;
}

/**
 * 'writing': a file of framesnap's naming (a temporary file, a journal) is
 * about to be made; 'placing': an object written with this device and inode
 * is about to be renamed into place (an object uploaded to object storage:
 * it has been, with `stored` saying where); 'written': it has been; 'folder': the
 * job made this folder; 'progress': `done` of the `expected` images have
 * been taken (written, and put on their sprite when they are cells).
 */
export type ProgressMessage =
  | { type: 'writing'; temporary: string }
  | { type: 'placing'; path: string; dev: number; ino: number; stored?: OwnedFile['stored'] }
  | { type: 'written'; path: string }
  | { type: 'folder'; path: string }
  | { type: 'progress'; done: number; expected: number };

export interface WrittenImage extends OwnedFile {
  key: string;
  /** The frame's time; for a sprite, its first cell's. */
  timeMs: number;
}

export interface JobOutcome {
  /** The single images written: none with TileOut.IsKeepCellPic false. */
  images: WrittenImage[];
  /** Images taken: the job's Count, whether they were kept as single images or not. */
  count: number;
  /** The sprite sheets written, in order: the job's TileCount is their number. */
  sprites: WrittenImage[];
  /** The WebVTT track, when the job asked for one. */
  vtt?: OwnedFile & { key: string };
}

export interface SpriteTask extends TileLayout {
  /** The TileOutputFile bucket: its real folder, or its store. */
  bucketDir: OutputBucket;
  /** The TileOutputFile key template, URL-decoded. */
  template: string;
  /** The sheets' format, from TileOutputFile.Object's extension. */
  format: ImageFormat;
  /** Largest sheet, width * height (the service's limitSpritePixels). */
  limitSpritePixels: number;
}

export interface TileLayout {
  readonly lines: number;
  readonly columns: number;
  /** Cell size in pixels; 0: the images' own size. */
  readonly cellWidth: number;
  readonly cellHeight: number;
  /** Outer border, pixels. */
  readonly margin: number;
  /** Gap between cells, pixels. */
  readonly padding: number;
  /** Background of the margin, the padding and empty cells ("random" is drawn once per job). */
  readonly background: Rgb;
  /** Whether the single images are written too. */
  readonly keepCellPictures: boolean;
  /** Every N-th image becomes a cell: images 1, 1 + N, 1 + 2N, ... */
  readonly cellStep: number;
}

/** An RGB colour, each channel 0..255. */
export type Rgb = readonly [red: number, green: number, blue: number];

/** A file a job wrote, as it was right after writing. */
export interface OwnedFile {
  /** The file's path; for an object in object storage, an identity no file system has (s3:...). */
  path: string;
  dev: number;
  ino: number;
  /**
   * An object uploaded (or being uploaded) to object storage: its bucket, key
   * and the owner token it is marked with (it is removed only while the
   * object at the key carries that token).
   */
  stored?: { target: ObjectStoreTarget; key: string; owner: string };
}
