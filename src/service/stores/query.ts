/**
 * querySnapshotJobList's request (SPEC section 7), parsed once for every
 * back end: by ids, or by filters, newest first, in pages whose
 * NextPageToken is the id of the next page's first job (stable while newer
 * jobs arrive in front).
 */
import { expectFields, expectInteger, invalid } from '../../core/validate.js';
import { parseIdList } from '../request/ids.js';
import type { JobState, QuerySnapshotJobListRequest, QuerySnapshotJobListResponse, SnapshotJob } from '../types.js';

export const MAX_QUERY_IDS = 10;
export const DEFAULT_PAGE_SIZE = 10;
export const MAX_PAGE_SIZE = 100;
const QUERY_FIELDS = [
  'SnapshotJobIds',
  'State',
  'PipelineId',
  'StartOfJobCreatedTimeRange',
  'EndOfJobCreatedTimeRange',
  'MaximumPageSize',
  'NextPageToken',
];
const STATES: readonly JobState[] = ['Submitted', 'Snapshoting', 'Success', 'Fail'];
const UTC_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

export interface JobFilter {
  state?: JobState;
  pipelineId?: string;
  /** CreationTime bounds, inclusive; the fixed-width UTC form compares as text. */
  start?: string;
  end?: string;
}

export type JobQuery =
  | { kind: 'ids'; ids: string[] }
  | { kind: 'page'; filter: JobFilter; pageSize: number; /** The id of the page's first job. */ token?: string };

/** The answer without its RequestId. */
export type JobQueryAnswer = Omit<QuerySnapshotJobListResponse, 'RequestId'>;

function timeBound(name: string, value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !UTC_TIME.test(value) || Number.isNaN(Date.parse(value))) {
    throw invalid('a UTC time like 2014-01-10T12:00:00Z', name, value);
  }
  return value;
}

export function parseJobQuery(given: QuerySnapshotJobListRequest): JobQuery {
  const request = expectFields('request', given, QUERY_FIELDS, {
    kind: 'field',
    expected: 'a request object',
  }) as QuerySnapshotJobListRequest;
  if (request.SnapshotJobIds !== undefined) {
    return { kind: 'ids', ids: parseIdList('SnapshotJobIds', request.SnapshotJobIds, MAX_QUERY_IDS) };
  }
  if (request.State !== undefined && !STATES.includes(request.State)) {
    throw invalid(`one of ${STATES.join(', ')}`, 'State', request.State);
  }
  const filter: JobFilter = {};
  if (request.State !== undefined) filter.state = request.State;
  if (request.PipelineId !== undefined && request.PipelineId !== '') filter.pipelineId = String(request.PipelineId);
  const start = timeBound('StartOfJobCreatedTimeRange', request.StartOfJobCreatedTimeRange);
  const end = timeBound('EndOfJobCreatedTimeRange', request.EndOfJobCreatedTimeRange);
  if (start !== undefined) filter.start = start;
  if (end !== undefined) filter.end = end;
  const pageSize =
    request.MaximumPageSize === undefined
      ? DEFAULT_PAGE_SIZE
      : expectInteger(
          'MaximumPageSize',
          typeof request.MaximumPageSize === 'string' && /^\d+$/.test(request.MaximumPageSize)
            ? Number(request.MaximumPageSize)
            : request.MaximumPageSize,
          1,
          MAX_PAGE_SIZE,
        );
  const token = request.NextPageToken === undefined || request.NextPageToken === '' ? undefined : request.NextPageToken;
  return { kind: 'page', filter, pageSize, ...(token === undefined ? {} : { token }) };
}

export function matchesFilter(job: SnapshotJob, filter: JobFilter): boolean {
  if (filter.state !== undefined && job.State !== filter.state) return false;
  if (filter.pipelineId !== undefined && job.PipelineId !== filter.pipelineId) return false;
  if (filter.start !== undefined && job.CreationTime < filter.start) return false;
  if (filter.end !== undefined && job.CreationTime > filter.end) return false;
  return true;
}

/** The failure of a NextPageToken that names no job the store remembers. */
export function unknownPageToken(token: string): Error {
  return invalid('a NextPageToken from a previous answer', 'NextPageToken', token);
}

/** The answer of an ids query: the jobs found in the order asked, and the ids not found. */
export function idsAnswer(ids: readonly string[], found: ReadonlyMap<string, SnapshotJob>): JobQueryAnswer {
  const jobs: SnapshotJob[] = [];
  const missing: string[] = [];
  for (const id of ids) {
    const job = found.get(id);
    if (job === undefined) missing.push(id);
    else jobs.push(structuredClone(job));
  }
  return { SnapshotJobList: { SnapshotJob: jobs }, NonExistSnapshotJobIds: { String: missing } };
}

/**
 * A page from jobs walked newest first (from the token's job on): up to
 * `pageSize` that match, and the id of the next match as the next token.
 */
export function pageAnswer(newestFirst: Iterable<SnapshotJob>, filter: JobFilter, pageSize: number): JobQueryAnswer {
  const page: SnapshotJob[] = [];
  let next: string | undefined;
  for (const job of newestFirst) {
    if (!matchesFilter(job, filter)) continue;
    if (page.length === pageSize) {
      next = job.Id;
      break;
    }
    page.push(structuredClone(job));
  }
  return {
    SnapshotJobList: { SnapshotJob: page },
    NonExistSnapshotJobIds: { String: [] },
    ...(next === undefined ? {} : { NextPageToken: next }),
  };
}
