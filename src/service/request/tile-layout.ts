/**
 * Sprite sheet geometry and names (SPEC sections 4 and 6). A sheet is
 * Margin + Columns cells with Padding between them + Margin wide, the same
 * for Lines; images fill its cells left to right, top to bottom.
 */
import { ErrorCodes, SnapshotError } from '../../core/errors.js';
import { MAX_IMAGE_SIDE } from '../../core/limits.js';
import { fillTemplate, type NameContext } from './names.js';
import type { TileLayout } from '../types.js';

export interface CellRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export function cellsPerSheet(layout: TileLayout): number {
  return layout.lines * layout.columns;
}

export function sheetSize(layout: TileLayout, cellWidth: number, cellHeight: number): { width: number; height: number } {
  return {
    width: 2 * layout.margin + layout.columns * cellWidth + (layout.columns - 1) * layout.padding,
    height: 2 * layout.margin + layout.lines * cellHeight + (layout.lines - 1) * layout.padding,
  };
}

/** Where cell `slot` (0-based, left to right, top to bottom) lies on its sheet. */
export function cellRect(layout: TileLayout, cellWidth: number, cellHeight: number, slot: number): CellRect {
  const line = Math.floor(slot / layout.columns);
  const column = slot % layout.columns;
  return {
    x: layout.margin + column * (cellWidth + layout.padding),
    y: layout.margin + line * (cellHeight + layout.padding),
    width: cellWidth,
    height: cellHeight,
  };
}

/**
 * Refuses sheets JPEG cannot hold (a side over MAX_IMAGE_SIDE) or over the
 * service's limitSpritePixels: a sheet is composed in memory as RGB before it
 * is encoded, so this bounds a job's memory. Checked before anything is composed.
 */
export function checkSheetSize(layout: TileLayout, cellWidth: number, cellHeight: number, limitSpritePixels: number): void {
  const { width, height } = sheetSize(layout, cellWidth, cellHeight);
  const pixels = width * height;
  const advice = '(set a smaller CellWidth and CellHeight, or fewer Lines and Columns)';
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE) {
    throw new SnapshotError(
      ErrorCodes.OutOfRange,
      `SnapshotConfig.TileOut makes sprite sheets of ${width}x${height} pixels, over ${MAX_IMAGE_SIDE} pixels on a side ${advice}`,
    );
  }
  if (pixels > limitSpritePixels) {
    throw new SnapshotError(
      ErrorCodes.OutOfRange,
      `SnapshotConfig.TileOut makes sprite sheets of ${width}x${height} (${pixels} pixels), over limitSpritePixels (${limitSpritePixels}) ${advice}`,
    );
  }
}

/**
 * Fills a TileOutputFile template for sprite `tileCount` (1-based, 5 digits
 * like {Count}); {SnapshotTime} is the time of its first cell.
 */
export function renderSpriteName(template: string, context: NameContext, tileCount: number, firstTimeMs: number): string {
  return fillTemplate(template, context, { TileCount: tileCount, SnapshotTime: firstTimeMs });
}
