/** Id lists of the query requests (querySnapshotJobList, queryPipelineList). */
import { ErrorCodes, SnapshotError } from '../../core/errors.js';
import { invalid } from '../../core/validate.js';

/** Ids from a comma-separated string or an array, at most `max`. */
export function parseIdList(name: string, given: unknown, max: number): string[] {
  if (given === undefined || given === null || given === '') throw invalid('ids as strings', name, given, ErrorCodes.NullValue);
  const listed: unknown[] = Array.isArray(given) ? given : typeof given === 'string' ? given.split(',') : [given];
  const ids = listed.map((id) => (typeof id === 'string' ? id.trim() : id));
  if (ids.some((id) => typeof id !== 'string' || id === '')) throw invalid('ids as strings', name, given);
  if (ids.length > max) {
    throw new SnapshotError(ErrorCodes.InvalidParameter, `${name} holds ${ids.length} ids; at most ${max} are allowed`);
  }
  return ids as string[];
}
