/** Output name templates (SPEC section 4), and the image format an output name asks for. */
import { posix } from 'node:path';

import { formatFromName, WRITTEN_EXTENSIONS, type ImageFormat } from '../../core/formats.js';
import { invalid } from '../../core/validate.js';

export interface NameContext {
  /** The input key's folder with a trailing '/', or '' at the bucket's top. */
  ObjectPrefix: string;
  /** The input name without its extension. */
  FileName: string;
  /** The input extension without the dot. */
  ExtName: string;
}

export function nameContext(inputKey: string): NameContext {
  const folder = posix.dirname(inputKey);
  const base = posix.basename(inputKey);
  const dot = base.lastIndexOf('.');
  return {
    ObjectPrefix: folder === '.' ? '' : `${folder}/`,
    FileName: dot > 0 ? base.slice(0, dot) : base,
    ExtName: dot > 0 ? base.slice(dot + 1) : '',
  };
}

const pad5 = (value: number): string => String(value).padStart(5, '0');

/** The numbers a template may use: {Count} of an image or {TileCount} of a sprite, and {SnapshotTime}. */
export interface NameNumbers {
  Count?: number;
  TileCount?: number;
  /** Milliseconds; written in whole ms. */
  SnapshotTime: number;
}

const PLACEHOLDER = /\{(ObjectPrefix|FileName|ExtName|Count|TileCount|SnapshotTime)\}/g;

/** The placeholders of an image name (SnapshotConfig.OutputFile.Object). */
export const IMAGE_PLACEHOLDERS: readonly string[] = ['ObjectPrefix', 'FileName', 'ExtName', 'Count', 'SnapshotTime'];
/** The placeholders of a sprite name (SnapshotConfig.TileOutputFile.Object). */
export const SPRITE_PLACEHOLDERS: readonly string[] = ['ObjectPrefix', 'FileName', 'ExtName', 'TileCount', 'SnapshotTime'];

/**
 * What a template writes as placeholders: every {Name} whose name has the
 * shape of one (a letter, then letters, digits or _), known or not, in order.
 * Other braces ("{}", "{ a }") are plain text of the name.
 */
export function placeholdersIn(template: string): string[] {
  return [...template.matchAll(/\{([A-Za-z][A-Za-z0-9_]*)\}/g)].map((match) => match[1]!);
}

/**
 * Fills a template in one pass, so text that a placeholder brings in (an
 * input named "a{Count}.mp4") is never read as another placeholder. A
 * placeholder without a value here stays as it is: request validation
 * (request.ts) refuses every placeholder that does not belong to its template.
 */
export function fillTemplate(template: string, context: NameContext, numbers: NameNumbers): string {
  return template.replace(PLACEHOLDER, (placeholder, name: string) => {
    switch (name) {
      case 'Count':
        return numbers.Count === undefined ? placeholder : pad5(numbers.Count);
      case 'TileCount':
        return numbers.TileCount === undefined ? placeholder : pad5(numbers.TileCount);
      case 'SnapshotTime':
        return String(Math.round(numbers.SnapshotTime));
      default:
        return context[name as keyof NameContext];
    }
  });
}

/** Fills an image's template; `count` is 1-based. */
export function renderName(template: string, context: NameContext, count: number, snapshotTimeMs: number): string {
  return fillTemplate(template, context, { Count: count, SnapshotTime: snapshotTimeMs });
}

/**
 * Extensions of image formats framesnap does not write: an object named so
 * is refused rather than given JPEG bytes under a name that says otherwise.
 */
const UNWRITTEN_IMAGE_EXTENSIONS = ['gif', 'tif', 'tiff', 'bmp', 'heic', 'heif', 'jxl', 'jp2'];

/**
 * The format of the objects a template makes, from the extension of its
 * first name (the placeholders that vary between names, {Count},
 * {TileCount} and {SnapshotTime}, are digits and never name a format):
 * .png, .webp and .avif are framesnap's extension to the cloud API, .jpg,
 * .jpeg and any other name JPEG, as the cloud service writes; the extension
 * of an image format framesnap does not write is refused.
 */
export function outputFormat(firstName: string, where: string): ImageFormat {
  const format = formatFromName(firstName);
  if (format !== undefined) return format;
  const extension = posix.extname(firstName).slice(1).toLowerCase();
  if (UNWRITTEN_IMAGE_EXTENSIONS.includes(extension)) {
    throw invalid(`a name ending in ${WRITTEN_EXTENSIONS} (framesnap does not write .${extension} images)`, where, firstName);
  }
  return 'jpeg';
}
