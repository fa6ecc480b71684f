/**
 * SubmitSnapshotJob requests, validated once at the edge (SPEC sections 2-6).
 * `Input` and `SnapshotConfig` arrive as JSON strings (the wire form) or
 * objects; numeric fields as strings ("5") or numbers, flags as "true"/"false"
 * or booleans. The result is a frozen plan with units fixed: milliseconds and
 * pixels.
 */
import { randomInt } from 'node:crypto';

import { ErrorCodes, SnapshotError, shortenSubject } from '../../core/errors.js';
import {
  MAX_BLACK_LEVEL,
  MAX_NUM,
  MAX_PIXEL_BLACK_THRESHOLD,
  MAX_SIZE,
  MAX_TIME_MS,
  MIN_BLACK_LEVEL,
  MIN_SIZE,
} from '../../core/limits.js';
import { FRAME_TYPES, type FrameType } from '../../core/options.js';
import { checkKeys, expectFields, invalid, parseJsonObject } from '../../core/validate.js';
import { parseColour } from './colours.js';
import { IMAGE_PLACEHOLDERS, placeholdersIn, SPRITE_PLACEHOLDERS } from './names.js';
import { cellsPerSheet } from './tile-layout.js';
import type { BlackFrameFilter, ObjectLocation, Rgb, SnapshotConfig, TileLayout, TimePlan, VttPlan } from '../types.js';

export interface ParsedRequest {
  /** The request's own values, echoed in the job as given. */
  readonly echo: { Input: ObjectLocation; SnapshotConfig: SnapshotConfig };
  readonly input: ObjectLocation;
  readonly output: ObjectLocation;
  readonly times: TimePlan;
  readonly asynchronous: boolean;
  readonly frameType: FrameType;
  readonly width: number;
  readonly height: number;
  readonly pipelineId: string | undefined;
  readonly userData: string | undefined;
  /** Set for a series at Time 0 with BlackLevel, and for every single snapshot at Time 0. */
  readonly blackFrames: BlackFrameFilter | undefined;
  /** Sprite sheets, with where they go (TileOut and TileOutputFile come together). */
  readonly tiles: TileLayout | undefined;
  readonly tileOutput: ObjectLocation | undefined;
  readonly vtt: VttPlan | undefined;
}

export const MAX_USER_DATA_BYTES = 1024;

const REQUEST_FIELDS = ['Input', 'SnapshotConfig', 'PipelineId', 'UserData', 'Action'];
const LOCATION_FIELDS = ['Bucket', 'Location', 'Object'];
const CONFIG_FIELDS = [
  'OutputFile',
  'Time',
  'Interval',
  'Num',
  'Width',
  'Height',
  'FrameType',
  'BlackLevel',
  'PixelBlackThreshold',
  'TileOut',
  'TileOutputFile',
  'Format',
  'SubOut',
];
const TILE_FIELDS = ['Lines', 'Columns', 'CellWidth', 'CellHeight', 'Margin', 'Padding', 'Color', 'IsKeepCellPic', 'CellSelStep'];
const SUB_OUT_FIELDS = ['IsSptFrag'];

/** SPEC section 5: a pixel darker than this counts as black when BlackLevel is set without it. */
export const DEFAULT_PIXEL_BLACK_THRESHOLD = 70;
/** Lines and Columns of a sprite sheet: 1..MAX_TILE_SIDE, default DEFAULT_TILE_SIDE. */
export const MAX_TILE_SIDE = 10_000;
export const DEFAULT_TILE_SIDE = 10;
/** Margin and Padding, pixels. */
export const MAX_TILE_SPACING = 4096;

/** Absent, null or '': what the wire sends for a value not given (NullValue). */
function isEmpty(value: unknown): value is undefined | null | '' {
  return value === undefined || value === null || value === '';
}

/** Input or SnapshotConfig: JSON text (the wire form) or an object (core's one JSON-or-object parser). */
function parseJsonField(name: string, value: unknown): Record<string, unknown> {
  if (isEmpty(value)) throw invalid('a JSON object', name, value, ErrorCodes.NullValue);
  return parseJsonObject(name, value);
}

function requiredString(where: string, value: unknown): string {
  if (isEmpty(value)) throw invalid('a non-empty string', where, value, ErrorCodes.NullValue);
  if (typeof value !== 'string') throw invalid('a non-empty string', where, value);
  return value;
}

const LOCATION_PATTERN = /^oss-[a-z0-9-]+$/;

function parseLocation(where: string, value: unknown): ObjectLocation {
  const expected = 'an object with Bucket, Location and Object';
  if (isEmpty(value)) throw invalid(expected, where, value, ErrorCodes.NullValue);
  const object = expectFields(where, value, LOCATION_FIELDS, { kind: 'field', expected });
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

/**
 * A number given as a number or a decimal string ("5", "0.5"), an integer
 * when `integer`, in min..max. Every refusal names the one expectation:
 * NullValue for null or '', OutOfRange for a number outside the range.
 */
function numberInRange(where: string, value: unknown, min: number, max: number, integer: boolean): number {
  const expected = `${integer ? 'an integer' : 'a number'} between ${min} and ${max}`;
  if (isEmpty(value)) throw invalid(expected, where, value, ErrorCodes.NullValue);
  const parsed = typeof value === 'number' ? value : typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(parsed) || (integer && !Number.isInteger(parsed))) throw invalid(expected, where, value);
  if (parsed < min || parsed > max) throw invalid(expected, where, value, ErrorCodes.OutOfRange);
  return parsed;
}

/** A flag given as a boolean or as "true"/"false". */
function flag(where: string, value: unknown): boolean {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw invalid('true or false', where, value, isEmpty(value) ? ErrorCodes.NullValue : ErrorCodes.InvalidParameter);
}

/** A nested object field (TileOut, SubOut); undefined when absent. */
function optionalObject(where: string, value: unknown, allowed: readonly string[]): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  const expected = `an object with ${allowed.join(', ')}`;
  if (isEmpty(value)) throw invalid(expected, where, value, ErrorCodes.NullValue);
  return expectFields(where, value, allowed, { kind: 'field', expected });
}

function parseColourField(where: string, value: unknown): Rgb {
  const expected = 'a CSS colour name, #RRGGBB or random';
  if (isEmpty(value)) throw invalid(expected, where, value, ErrorCodes.NullValue);
  if (value === 'random') return [randomInt(256), randomInt(256), randomInt(256)];
  const colour = typeof value === 'string' ? parseColour(value) : undefined;
  if (colour === undefined) throw invalid(expected, where, value);
  return colour;
}

function parseTileOut(tileOut: Record<string, unknown>): TileLayout {
  const where = (field: string): string => `SnapshotConfig.TileOut.${field}`;
  const integer = (field: string, min: number, max: number, fallback: number): number =>
    tileOut[field] === undefined ? fallback : numberInRange(where(field), tileOut[field], min, max, true);
  return Object.freeze({
    lines: integer('Lines', 1, MAX_TILE_SIDE, DEFAULT_TILE_SIDE),
    columns: integer('Columns', 1, MAX_TILE_SIDE, DEFAULT_TILE_SIDE),
    cellWidth: integer('CellWidth', MIN_SIZE, MAX_SIZE, 0),
    cellHeight: integer('CellHeight', MIN_SIZE, MAX_SIZE, 0),
    margin: integer('Margin', 0, MAX_TILE_SPACING, 0),
    padding: integer('Padding', 0, MAX_TILE_SPACING, 0),
    background: tileOut['Color'] === undefined ? ([0, 0, 0] as const) : parseColourField(where('Color'), tileOut['Color']),
    keepCellPictures: tileOut['IsKeepCellPic'] === undefined ? true : flag(where('IsKeepCellPic'), tileOut['IsKeepCellPic']),
    cellStep: integer('CellSelStep', 1, MAX_NUM, 1),
  });
}

/**
 * SPEC section 5. A series at Time 0 with BlackLevel replaces a black first
 * image; a single snapshot at Time 0 always replaces a fully black one
 * (BlackLevel 100). Anything else is taken as it is.
 */
function blackFrameFilter(config: Record<string, unknown>, timeMs: number, asynchronous: boolean): BlackFrameFilter | undefined {
  const blackLevel =
    config['BlackLevel'] === undefined
      ? undefined
      : numberInRange('SnapshotConfig.BlackLevel', config['BlackLevel'], MIN_BLACK_LEVEL, MAX_BLACK_LEVEL, true);
  const pixelThreshold =
    config['PixelBlackThreshold'] === undefined
      ? DEFAULT_PIXEL_BLACK_THRESHOLD
      : numberInRange('SnapshotConfig.PixelBlackThreshold', config['PixelBlackThreshold'], 0, MAX_PIXEL_BLACK_THRESHOLD, true);
  if (timeMs !== 0) return undefined;
  if (!asynchronous) return Object.freeze({ blackLevel: 100, pixelThreshold });
  return blackLevel === undefined ? undefined : Object.freeze({ blackLevel, pixelThreshold });
}

/** Most images a plan can produce (Infinity when it runs to the end of the video). */
function mostImages(times: TimePlan): number {
  if (times.kind === 'single') return 1;
  if (times.kind === 'untilEnd') return Infinity;
  return times.count;
}

/** Where a placeholder of the other kind of output belongs, and what numbers this one's outputs. */
const MISPLACED: Record<string, string> = {
  TileCount: 'cannot use {TileCount}, which numbers the sprites; images are numbered by {Count}',
  Count: 'cannot use {Count}, which numbers the single images; sprites are numbered by {TileCount}',
};

/**
 * Refuses a placeholder that does not belong to the template at `where` (one
 * that would else be written into names as it is), naming it; returns the
 * template's placeholders. The template is read URL-decoded, as it is filled.
 */
function checkPlaceholders(where: string, template: string, allowed: readonly string[]): string[] {
  let decoded = template;
  try {
    if (template.includes('%')) decoded = decodeURIComponent(template);
  } catch {
    // A malformed key is refused, with its own message, when the service decodes it.
  }
  const used = placeholdersIn(decoded);
  for (const name of used) {
    if (allowed.includes(name)) continue;
    const misplaced = Object.hasOwn(MISPLACED, name) ? MISPLACED[name] : undefined;
    throw new SnapshotError(
      ErrorCodes.InvalidParameter,
      misplaced !== undefined
        ? `${where} ${misplaced}`
        : `${where} uses the unknown placeholder {${shortenSubject(name, 60)}}; the placeholders are ${allowed.map((known) => `{${known}}`).join(', ')}`,
    );
  }
  return used;
}

function parseSprites(
  config: Record<string, unknown>,
  times: TimePlan,
): { tiles: TileLayout | undefined; tileOutput: ObjectLocation | undefined } {
  const tileOut = optionalObject('SnapshotConfig.TileOut', config['TileOut'], TILE_FIELDS);
  const hasOutput = config['TileOutputFile'] !== undefined;
  if (tileOut === undefined && !hasOutput) return { tiles: undefined, tileOutput: undefined };
  if (tileOut === undefined) {
    throw new SnapshotError(
      ErrorCodes.InvalidParameter,
      'SnapshotConfig.TileOutputFile needs SnapshotConfig.TileOut, which describes the sprites',
    );
  }
  if (!hasOutput) {
    throw new SnapshotError(
      ErrorCodes.InvalidParameter,
      'SnapshotConfig.TileOut needs SnapshotConfig.TileOutputFile, where the sprites go',
    );
  }
  const tiles = parseTileOut(tileOut);
  const tileOutput = parseLocation('SnapshotConfig.TileOutputFile', config['TileOutputFile']);
  const spritePlaceholders = checkPlaceholders('SnapshotConfig.TileOutputFile.Object', tileOutput.Object, SPRITE_PLACEHOLDERS);
  const mostSprites = Math.ceil(Math.ceil(mostImages(times) / tiles.cellStep) / cellsPerSheet(tiles));
  if (mostSprites > 1 && !spritePlaceholders.includes('TileCount')) {
    throw new SnapshotError(
      ErrorCodes.InvalidParameter,
      'SnapshotConfig.TileOutputFile.Object needs {TileCount} when the job can produce more than one sprite',
    );
  }
  return { tiles, tileOutput };
}

function parseVtt(config: Record<string, unknown>, tiles: TileLayout | undefined): VttPlan | undefined {
  const subOut = optionalObject('SnapshotConfig.SubOut', config['SubOut'], SUB_OUT_FIELDS);
  const format = config['Format'];
  if (format === undefined) {
    if (subOut !== undefined) {
      throw new SnapshotError(
        ErrorCodes.InvalidParameter,
        'SnapshotConfig.SubOut applies to the WebVTT track and needs SnapshotConfig.Format "vtt"',
      );
    }
    return undefined;
  }
  if (format !== 'vtt')
    throw invalid('"vtt"', 'SnapshotConfig.Format', format, isEmpty(format) ? ErrorCodes.NullValue : ErrorCodes.InvalidParameter);
  const intoSprites = subOut?.['IsSptFrag'] === undefined ? false : flag('SnapshotConfig.SubOut.IsSptFrag', subOut['IsSptFrag']);
  if (intoSprites && tiles === undefined) {
    throw new SnapshotError(
      ErrorCodes.InvalidParameter,
      'SnapshotConfig.SubOut.IsSptFrag "true" points the WebVTT track into sprites and needs SnapshotConfig.TileOut',
    );
  }
  if (!intoSprites && tiles !== undefined && !tiles.keepCellPictures) {
    throw new SnapshotError(
      ErrorCodes.InvalidParameter,
      'SnapshotConfig.Format "vtt" points at the single images, which SnapshotConfig.TileOut.IsKeepCellPic "false" does not keep; ' +
        'set SnapshotConfig.SubOut.IsSptFrag to "true" to point into the sprites',
    );
  }
  return Object.freeze({ pointsAt: intoSprites ? 'sprites' : 'images' });
}

export function parseSubmitRequest(request: unknown): ParsedRequest {
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    throw invalid('a request object with Input and SnapshotConfig', 'request', request);
  }
  const fields = expectFields('request', request, REQUEST_FIELDS, { kind: 'field' });
  if (fields['Action'] !== undefined && fields['Action'] !== 'SubmitSnapshotJob') {
    throw invalid('"SubmitSnapshotJob"', 'Action', fields['Action']);
  }
  const input = parseLocation('Input', parseJsonField('Input', fields['Input']));
  const config = parseJsonField('SnapshotConfig', fields['SnapshotConfig']);
  checkKeys(config, CONFIG_FIELDS, 'SnapshotConfig', 'field');
  const output = parseLocation('SnapshotConfig.OutputFile', config['OutputFile']);

  const timeMs = numberInRange('SnapshotConfig.Time', config['Time'], 0, MAX_TIME_MS, false);
  const hasInterval = config['Interval'] !== undefined;
  const hasNum = config['Num'] !== undefined;
  const intervalMs = hasInterval
    ? numberInRange('SnapshotConfig.Interval', config['Interval'], 0, MAX_TIME_MS / 1000, false) * 1000
    : 10_000;
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
  const imagePlaceholders = checkPlaceholders('SnapshotConfig.OutputFile.Object', output.Object, IMAGE_PLACEHOLDERS);
  const manyImages = mostImages(times) > 1;
  if (manyImages && !imagePlaceholders.includes('Count')) {
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

  const width = size('Width');
  const height = size('Height');
  const asynchronous = hasInterval || hasNum;
  const blackFrames = blackFrameFilter(config, timeMs, asynchronous);
  const { tiles, tileOutput } = parseSprites(config, times);
  const vtt = parseVtt(config, tiles);

  const inputEcho = parseJsonField('Input', fields['Input']) as unknown as ObjectLocation;
  return Object.freeze({
    // Validated above: the fields have the shapes SnapshotConfig describes.
    echo: { Input: inputEcho, SnapshotConfig: config as unknown as SnapshotConfig },
    input,
    output,
    times,
    asynchronous,
    frameType: frameType as FrameType,
    width,
    height,
    pipelineId,
    userData,
    blackFrames,
    tiles,
    tileOutput,
    vtt,
  });
}
