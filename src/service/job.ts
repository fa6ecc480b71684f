/** The job record as the cloud service shows it (SPEC section 7). */
import { randomUUID } from 'node:crypto';

import type { MNSMessageResult } from './notifications.js';
import type { ObjectLocation } from './request.js';

export type JobState = 'Submitted' | 'Snapshoting' | 'Success' | 'Fail';

export interface SnapshotJob {
  /** 32 lower-case hex digits. */
  Id: string;
  State: JobState;
  /** The error code of a failed job, '' otherwise. */
  Code: string;
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
  SnapshotConfig: Record<string, unknown>;
  /** framesnap's own, for asynchronous jobs: share of the expected images written, 0..100. */
  Percent?: number;
  /** The outcome of the completion message of a pipeline with a NotifyConfig. */
  MNSMessageResult?: MNSMessageResult;
}

export interface SubmitSnapshotJobResponse {
  RequestId: string;
  SnapshotJob: SnapshotJob;
}

export function newJobId(): string {
  return randomUUID().replaceAll('-', '');
}

export function newRequestId(): string {
  return randomUUID().toUpperCase();
}

export function creationTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
