/**
 * Pipelines (SPEC section 7): named queues of jobs that start in submission
 * order, can be paused (queued jobs wait, running ones finish) and carry the
 * NotifyConfig of their jobs' completion messages.
 */
import { ErrorCodes } from '../../core/errors.js';
import { expectFields, invalid } from '../../core/validate.js';
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
