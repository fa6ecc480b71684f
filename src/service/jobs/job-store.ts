/**
 * The jobs a service remembers, and querySnapshotJobList over them (SPEC
 * section 7): by ids, or by filters, newest first, in pages. Only the job
 * lifecycle (lifecycle.ts) writes: `add` for a new job, `save` after each
 * change of one. This is the memory store; a durable one keeps the same
 * methods.
 */
import { expectFields, expectInteger, invalid } from '../../core/validate.js';
import { parseIdList } from '../request/ids.js';
import type { SnapshotJob } from '../types.js';
import type { QuerySnapshotJobListRequest, QuerySnapshotJobListResponse } from '../types.js';

const MAX_QUERY_IDS = 10;
const DEFAULT_PAGE_SIZE = 10;
const MAX_PAGE_SIZE = 100;
const QUERY_FIELDS = [
  'SnapshotJobIds',
  'State',
  'PipelineId',
  'StartOfJobCreatedTimeRange',
  'EndOfJobCreatedTimeRange',
  'MaximumPageSize',
  'NextPageToken',
];
const STATES = ['Submitted', 'Snapshoting', 'Success', 'Fail'];
const UTC_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

function timeBound(name: string, value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !UTC_TIME.test(value) || Number.isNaN(Date.parse(value))) {
    throw invalid('a UTC time like 2014-01-10T12:00:00Z', name, value);
  }
  return value;
}

export class JobStore {
  /** Oldest first; newest-first answers walk it backwards. */
  private readonly jobs = new Map<string, SnapshotJob>();

  constructor(private readonly maxHistory: number) {}

  get(id: string): SnapshotJob | undefined {
    return this.jobs.get(id);
  }

  /** Saves a job after a change; one dropped from the history stays dropped. */
  save(job: SnapshotJob): void {
    if (this.jobs.has(job.Id)) this.jobs.set(job.Id, job);
  }

  add(job: SnapshotJob): void {
    this.jobs.set(job.Id, job);
    if (this.jobs.size <= this.maxHistory) return;
    for (const [id, old] of this.jobs) {
      if (old.State === 'Success' || old.State === 'Fail') {
        this.jobs.delete(id);
        return;
      }
    }
  }

  /** The answer without its RequestId. */
  query(given: QuerySnapshotJobListRequest): Omit<QuerySnapshotJobListResponse, 'RequestId'> {
    const request = expectFields('request', given, QUERY_FIELDS, {
      kind: 'field',
      expected: 'a request object',
    }) as QuerySnapshotJobListRequest;
    if (request.SnapshotJobIds !== undefined) return this.byIds(parseIdList('SnapshotJobIds', request.SnapshotJobIds, MAX_QUERY_IDS));
    return this.byFilters(request);
  }

  private byIds(ids: string[]): Omit<QuerySnapshotJobListResponse, 'RequestId'> {
    const found: SnapshotJob[] = [];
    const missing: string[] = [];
    for (const id of ids) {
      const job = this.jobs.get(id);
      if (job === undefined) missing.push(id);
      else found.push(structuredClone(job));
    }
    return { SnapshotJobList: { SnapshotJob: found }, NonExistSnapshotJobIds: { String: missing } };
  }

  private byFilters(request: QuerySnapshotJobListRequest): Omit<QuerySnapshotJobListResponse, 'RequestId'> {
    if (request.State !== undefined && !STATES.includes(request.State)) {
      throw invalid(`one of ${STATES.join(', ')}`, 'State', request.State);
    }
    const start = timeBound('StartOfJobCreatedTimeRange', request.StartOfJobCreatedTimeRange);
    const end = timeBound('EndOfJobCreatedTimeRange', request.EndOfJobCreatedTimeRange);
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
    const newestFirst = [...this.jobs.values()].reverse();
    let from = 0;
    if (request.NextPageToken !== undefined && request.NextPageToken !== '') {
      // The token is the id of the first job of the next page: stable while
      // newer jobs arrive in front.
      from = newestFirst.findIndex((job) => job.Id === request.NextPageToken);
      if (from < 0) throw invalid('a NextPageToken from a previous answer', 'NextPageToken', request.NextPageToken);
    }
    const page: SnapshotJob[] = [];
    let nextPageToken: string | undefined;
    for (const job of newestFirst.slice(from)) {
      if (request.State !== undefined && job.State !== request.State) continue;
      if (request.PipelineId !== undefined && request.PipelineId !== '' && job.PipelineId !== request.PipelineId) continue;
      // The fixed-width UTC form compares as text.
      if (start !== undefined && job.CreationTime < start) continue;
      if (end !== undefined && job.CreationTime > end) continue;
      if (page.length === pageSize) {
        nextPageToken = job.Id;
        break;
      }
      page.push(structuredClone(job));
    }
    return {
      SnapshotJobList: { SnapshotJob: page },
      NonExistSnapshotJobIds: { String: [] },
      ...(nextPageToken === undefined ? {} : { NextPageToken: nextPageToken }),
    };
  }
}
