/**
 * SubmitSnapshotJob requests, validated once at the edge (SPEC sections 2-4).
 * `Input` and `SnapshotConfig` arrive as JSON strings (the wire form) or
 * objects; numeric fields as strings ("5") or numbers. The result is a frozen
 * plan with units fixed: milliseconds and pixels.
 */
import { ErrorCodes, SnapshotError } from '../errors.js';
import { FRAME_TYPES, MAX_SIZE, MAX_TIME_MS, MIN_SIZE, type FrameType } from '../options.js';
import { invalid } from '../validate.js';

export interface ObjectLocation {
  Bucket: string;
  Location?: string;
  Object: string;
}

export interface SubmitSnapshotJobRequest {
  Input: string | ObjectLocation;
  SnapshotConfig: string | Record<string, unknown>;
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

export interface ParsedRequest {
  /** The request's own values, echoed in the job as given. */
  readonly echo: { Input: ObjectLocation; SnapshotConfig: Record<string, unknown> };
  readonly input: ObjectLocation;
  readonly output: ObjectLocation;
  readonly times: TimePlan;
  readonly asynchronous: boolean;
  readonly frameType: FrameType;
  readonly width: number;
  readonly height: number;
  readonly pipelineId: string | undefined;
  readonly userData: string | undefined;
}

/** Most images one job may produce. */
export const MAX_NUM = 10_000;
export const MAX_USER_DATA_BYTES = 1024;

const REQUEST_FIELDS = ['Input', 'SnapshotConfig', 'PipelineId', 'UserData', 'Action'];
const LOCATION_FIELDS = ['Bucket', 'Location', 'Object'];
const CONFIG_FIELDS = ['OutputFile', 'Time', 'Interval', 'Num', 'Width', 'Height', 'FrameType'];
/** SPEC fields that arrive with the feature set of a later release; refused, not ignored. */
const CONFIG_FIELDS_NOT_YET = ['BlackLevel', 'PixelBlackThreshold', 'TileOut', 'TileOutputFile', 'Format', 'SubOut'];

function parseJsonField(name: string, value: unknown): Record<string, unknown> {
  if (value === undefined || value === null || value === '') {
    throw new SnapshotError(ErrorCodes.NullValue, `${name} is required`);
  }
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      throw new SnapshotError(ErrorCodes.JsonFormatInvalid, `${name} is not valid JSON: ${(error as Error).message}`);
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SnapshotError(ErrorCodes.JsonFormatInvalid, `${name} must be a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

function rejectUnknownFields(where: string, value: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (allowed.includes(key)) continue;
    if (where === 'SnapshotConfig' && CONFIG_FIELDS_NOT_YET.includes(key)) {
      throw new SnapshotError(ErrorCodes.InvalidParameter, `SnapshotConfig.${key} is not supported yet`);
    }
    throw new SnapshotError(ErrorCodes.InvalidParameter, `Unknown field ${where}.${key}; expected only ${allowed.join(', ')}`);
  }
}

function requiredString(where: string, value: unknown): string {
  if (value === undefined || value === null || value === '') {
    throw new SnapshotError(ErrorCodes.NullValue, `${where} is required`);
  }
  if (typeof value !== 'string') throw invalid('a string', where, value);
  return value;
}

const LOCATION_PATTERN = /^oss-[a-z0-9-]+$/;

function parseLocation(where: string, value: unknown): ObjectLocation {
  const object = value as Record<string, unknown>;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    if (value === undefined || value === null) throw new SnapshotError(ErrorCodes.NullValue, `${where} is required`);
    throw invalid('an object with Bucket, Location and Object', where, value);
  }
  rejectUnknownFields(where, object, LOCATION_FIELDS);
  const location: ObjectLocation = {
    Bucket: requiredString(`${where}.Bucket`, object['Bucket']),
    Object: requiredString(`${where}.Object`, object['Object']),
  };
  if (object['Location'] !== undefined) {
    const region = requiredString(`${where}.Location`, object['Location']);
    if (Buffer.byteLength(region) > 64 || !LOCATION_PATTERN.test(region)) {
      throw invalid('a region of the form oss-<region>, at most 64 bytes', `${where}.Location`, region);
    }
    location.Location = region;
  }
  return location;
}

/** A number given as a number or a decimal string ("5", "0.5"). */
function numeric(where: string, value: unknown): number {
  if (value === null || value === '') throw new SnapshotError(ErrorCodes.NullValue, `${where} must not be empty`);
  const parsed = typeof value === 'number' ? value : typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(parsed)) throw invalid('a number', where, value);
  return parsed;
}

function numberInRange(where: string, value: unknown, min: number, max: number, integer: boolean): number {
  const parsed = numeric(where, value);
  const kind = integer ? 'an integer' : 'a number';
  if (integer && !Number.isInteger(parsed)) throw invalid(`${kind} between ${min} and ${max}`, where, value);
  if (parsed < min || parsed > max) {
    throw invalid(`${kind} between ${min} and ${max}`, where, value, ErrorCodes.OutOfRange);
  }
  return parsed;
}

export function parseSubmitRequest(request: unknown): ParsedRequest {
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    throw invalid('a request object with Input and SnapshotConfig', 'request', request);
  }
  const fields = request as Record<string, unknown>;
  rejectUnknownFields('request', fields, REQUEST_FIELDS);
  if (fields['Action'] !== undefined && fields['Action'] !== 'SubmitSnapshotJob') {
    throw invalid('"SubmitSnapshotJob"', 'Action', fields['Action']);
  }
  const input = parseLocation('Input', parseJsonField('Input', fields['Input']));
  const config = parseJsonField('SnapshotConfig', fields['SnapshotConfig']);
  rejectUnknownFields('SnapshotConfig', config, CONFIG_FIELDS);
  const output = parseLocation('SnapshotConfig.OutputFile', config['OutputFile']);

  if (config['Time'] === undefined) throw new SnapshotError(ErrorCodes.NullValue, 'SnapshotConfig.Time is required');
  const timeMs = numberInRange('SnapshotConfig.Time', config['Time'], 0, MAX_TIME_MS, false);
  const hasInterval = config['Interval'] !== undefined;
  const hasNum = config['Num'] !== undefined;
  const intervalMs = hasInterval ? numberInRange('SnapshotConfig.Interval', config['Interval'], 0, MAX_TIME_MS / 1000, false) * 1000 : 10_000;
  const num = hasNum ? numberInRange('SnapshotConfig.Num', config['Num'], 1, MAX_NUM, true) : undefined;

  let times: TimePlan;
  if (!hasInterval && !hasNum) {
    times = { kind: 'single', timeMs };
  } else if (num === undefined) {
    if (intervalMs === 0) {
      throw new SnapshotError(ErrorCodes.InvalidParameter, 'SnapshotConfig.Interval 0 spreads Num images evenly and needs Num');
    }
    times = { kind: 'untilEnd', startMs: timeMs, intervalMs };
  } else if (intervalMs === 0) {
    times = { kind: 'spread', startMs: timeMs, count: num };
  } else {
    times = { kind: 'series', startMs: timeMs, intervalMs, count: num };
  }
  const manyImages = times.kind !== 'single' && !(num === 1);
  if (manyImages && !output.Object.includes('{Count}')) {
    throw new SnapshotError(
      ErrorCodes.InvalidParameter,
      'SnapshotConfig.OutputFile.Object needs {Count} when the job can produce more than one image',
    );
  }

  const size = (name: 'Width' | 'Height'): number =>
    config[name] === undefined ? 0 : numberInRange(`SnapshotConfig.${name}`, config[name], MIN_SIZE, MAX_SIZE, true);
  const frameType = config['FrameType'] === undefined ? 'intra' : config['FrameType'];
  if (typeof frameType !== 'string' || !(FRAME_TYPES as readonly string[]).includes(frameType)) {
    throw invalid(`one of ${FRAME_TYPES.join(', ')}`, 'SnapshotConfig.FrameType', frameType);
  }

  let pipelineId: string | undefined;
  if (fields['PipelineId'] !== undefined && fields['PipelineId'] !== '') {
    pipelineId = requiredString('PipelineId', fields['PipelineId']);
  }
  let userData: string | undefined;
  if (fields['UserData'] !== undefined) {
    if (typeof fields['UserData'] !== 'string') throw invalid('a string', 'UserData', fields['UserData']);
    if (Buffer.byteLength(fields['UserData']) > MAX_USER_DATA_BYTES) {
      throw new SnapshotError(
        ErrorCodes.InvalidParameter,
        `UserData is ${Buffer.byteLength(fields['UserData'])} bytes; at most ${MAX_USER_DATA_BYTES} are allowed`,
      );
    }
    userData = fields['UserData'];
  }

  const inputEcho = parseJsonField('Input', fields['Input']) as unknown as ObjectLocation;
  return Object.freeze({
    echo: { Input: inputEcho, SnapshotConfig: config },
    input,
    output,
    times,
    asynchronous: hasInterval || hasNum,
    frameType: frameType as FrameType,
    width: size('Width'),
    height: size('Height'),
    pipelineId,
    userData,
  });
}
