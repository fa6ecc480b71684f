/**
 * Pipelines (SPEC section 7): named queues of jobs that start in submission
 * order, can be paused (queued jobs wait, running ones finish) and carry the
 * NotifyConfig of their jobs' completion messages.
 */
import { ErrorCodes } from '../../core/errors.js';
import { expectFields, expectInteger, invalid } from '../../core/validate.js';
import { newPipeline } from '../stores/records.js';
import { parseNotifyConfig } from './notifications.js';
import type { Pipeline } from '../types.js';

const MAX_NAME_BYTES = 128;

function requestObject(request: unknown, allowed: readonly string[]): Record<string, unknown> {
  return expectFields('request', request, allowed, { kind: 'field', expected: 'a request object' });
}

function pipelineName(value: unknown): string {
  const expected = `a name of at most ${MAX_NAME_BYTES} bytes`;
  if (value === undefined || value === null || value === '') throw invalid(expected, 'Name', value, ErrorCodes.NullValue);
  if (typeof value !== 'string' || Buffer.byteLength(value) > MAX_NAME_BYTES) throw invalid(expected, 'Name', value);
  return value;
}

export function parseAddPipeline(request: unknown): Pipeline {
  const fields = requestObject(request, ['Name', 'Speed', 'NotifyConfig']);
  if (fields['Speed'] !== undefined && fields['Speed'] !== 'Standard') {
    throw invalid('"Standard"', 'Speed', fields['Speed']);
  }
  return newPipeline(pipelineName(fields['Name']), parseNotifyConfig(fields['NotifyConfig']));
}

/** Applies an update to a copy of `pipeline`; the caller stores it. */
export function applyPipelineUpdate(pipeline: Pipeline, request: unknown): Pipeline {
  const fields = requestObject(request, ['PipelineId', 'Name', 'State', 'NotifyConfig']);
  const updated = { ...pipeline };
  if (fields['Name'] !== undefined) updated.Name = pipelineName(fields['Name']);
  if (fields['State'] !== undefined) {
    if (fields['State'] !== 'Active' && fields['State'] !== 'Paused') {
      throw invalid('one of Active, Paused', 'State', fields['State']);
    }
    updated.State = fields['State'];
  }
  if (fields['NotifyConfig'] !== undefined) updated.NotifyConfig = parseNotifyConfig(fields['NotifyConfig']) ?? {};
  return updated;
}

export interface PipelineSearch {
  state: Pipeline['State'] | undefined;
  pageNumber: number;
  pageSize: number;
}

const MAX_SEARCH_PAGE_SIZE = 100;
const DEFAULT_SEARCH_PAGE_SIZE = 10;

/** A count as the wire sends it ("2") or as a number. */
function whole(name: string, value: unknown, min: number, max: number): number {
  return expectInteger(name, typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value, min, max);
}

/** SearchPipeline's request: State (Active, Paused, All), PageNumber (from 1), PageSize (1..100, default 10). */
export function parseSearchPipeline(request: unknown): PipelineSearch {
  const fields = requestObject(request ?? {}, ['State', 'PageNumber', 'PageSize']);
  const state = fields['State'];
  if (state !== undefined && state !== '' && state !== 'All' && state !== 'Active' && state !== 'Paused') {
    throw invalid('one of All, Active, Paused', 'State', state);
  }
  return {
    state: state === 'Active' || state === 'Paused' ? state : undefined,
    pageNumber: fields['PageNumber'] === undefined ? 1 : whole('PageNumber', fields['PageNumber'], 1, 1_000_000),
    pageSize: fields['PageSize'] === undefined ? DEFAULT_SEARCH_PAGE_SIZE : whole('PageSize', fields['PageSize'], 1, MAX_SEARCH_PAGE_SIZE),
  };
}

/** DeletePipeline's request: its PipelineId. */
export function parseDeletePipeline(request: unknown): string {
  const id = requestObject(request, ['PipelineId'])['PipelineId'];
  if (id === undefined || id === null || id === '') throw invalid('a pipeline id', 'PipelineId', id, ErrorCodes.NullValue);
  if (typeof id !== 'string') throw invalid('a pipeline id', 'PipelineId', id);
  return id;
}
