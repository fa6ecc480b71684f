/** Output name templates (SPEC section 4). */
import { posix } from 'node:path';

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

/** Fills a template for one image; `count` is 1-based. */
export function renderName(template: string, context: NameContext, count: number, snapshotTimeMs: number): string {
  return template
    .replaceAll('{ObjectPrefix}', context.ObjectPrefix)
    .replaceAll('{FileName}', context.FileName)
    .replaceAll('{ExtName}', context.ExtName)
    .replaceAll('{Count}', pad5(count))
    .replaceAll('{SnapshotTime}', String(Math.round(snapshotTimeMs)));
}
