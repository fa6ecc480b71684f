/**
 * Sprite sheets (SPEC section 6), composed while the series decodes. Memory
 * stays bounded by the sheet, not the series: each cell's image is resized
 * by sharp to the cell size and pasted straight into its sheet's RGB canvas,
 * and a sheet is encoded (in the format TileOutputFile.Object's extension
 * names), written and freed as soon as its last cell is in
 * (at most two canvases live at once, when cells of the next sheet arrive
 * while one is encoding). The last sheet keeps the full size; its empty
 * cells show the background.
 */
import { debug } from '../../core/debug.js';
import { encodeImage, loadSharp } from '../../core/encode.js';
import { aboutSubject } from '../../core/errors.js';
import type { NativeFrame } from '../../core/native.js';
import type { NameContext } from '../request/names.js';
import type { OutputWriter } from './output-writer.js';
import { cellRect, cellsPerSheet, checkSheetSize, renderSpriteName, sheetSize, type CellRect } from '../request/tile-layout.js';
import type { SpriteTask, WrittenImage } from '../types.js';

/** One cell as the WebVTT track needs it. */
export interface PlacedCell {
  /** 0-based sheet index. */
  sheet: number;
  rect: CellRect;
  /** The time the image was taken for, and the frame's own time (ms). */
  requestedMs: number;
  timeMs: number;
}

interface OpenSheet {
  canvas: Buffer;
  width: number;
  height: number;
  pasted: number;
  firstTimeMs: number;
}

const WHERE = 'SnapshotConfig.TileOutputFile.Object';

export class SpriteSheets {
  /** Cells in order; a cell's sheet is written once all its sheet's cells are in. */
  readonly cells: PlacedCell[] = [];
  private readonly written: WrittenImage[] = [];
  private readonly open = new Map<number, OpenSheet>();
  private cellWidth = 0;
  private cellHeight = 0;

  constructor(
    private readonly task: SpriteTask,
    private readonly context: NameContext,
    private readonly writer: OutputWriter,
    private readonly quality: number,
  ) {}

  /** Whether image `index` (0-based, in the job's order) is a cell. */
  isCell(index: number): boolean {
    return index % this.task.cellStep === 0;
  }

  /**
   * Adds image `index` as a cell (call only when isCell(index)); resolves
   * once it is on its sheet and, if that filled the sheet, the sheet is
   * written. Cells may be added concurrently, in any order.
   */
  async add(index: number, frame: NativeFrame): Promise<void> {
    if (this.cellWidth === 0) {
      // Default cell size: the images' own; checked now that it is known.
      this.cellWidth = this.task.cellWidth || frame.width;
      this.cellHeight = this.task.cellHeight || frame.height;
      checkSheetSize(this.task, this.cellWidth, this.cellHeight, this.task.limitSpritePixels);
    }
    const cell = index / this.task.cellStep;
    const perSheet = cellsPerSheet(this.task);
    const sheetIndex = Math.floor(cell / perSheet);
    const rect = cellRect(this.task, this.cellWidth, this.cellHeight, cell % perSheet);
    this.cells[cell] = { sheet: sheetIndex, rect, requestedMs: frame.requestedMs, timeMs: frame.timeMs };
    const sheet = this.sheet(sheetIndex);
    if (cell % perSheet === 0) sheet.firstTimeMs = frame.timeMs;
    const pixels = await this.resized(frame);
    paste(sheet, rect, pixels);
    sheet.pasted += 1;
    if (sheet.pasted === perSheet) await this.flush(sheetIndex);
  }

  /** Writes the last, partly filled sheet; returns every sheet written, in order. */
  async finish(): Promise<WrittenImage[]> {
    for (const index of [...this.open.keys()].sort((a, b) => a - b)) await this.flush(index);
    return this.written.filter((sprite) => sprite !== undefined);
  }

  /** The key of sheet `index` (0-based); known once it is written. */
  keyOf(index: number): string {
    return this.written[index]!.key;
  }

  private sheet(index: number): OpenSheet {
    let sheet = this.open.get(index);
    if (sheet === undefined) {
      const { width, height } = sheetSize(this.task, this.cellWidth, this.cellHeight);
      const canvas = Buffer.alloc(width * height * 3);
      const [red, green, blue] = this.task.background;
      if (red !== 0 || green !== 0 || blue !== 0) canvas.fill(Buffer.from([red, green, blue]));
      sheet = { canvas, width, height, pasted: 0, firstTimeMs: 0 };
      this.open.set(index, sheet);
    }
    return sheet;
  }

  private async resized(frame: NativeFrame): Promise<Buffer> {
    if (frame.width === this.cellWidth && frame.height === this.cellHeight) return frame.rgb;
    const sharp = await loadSharp();
    try {
      return await sharp(frame.rgb, { raw: { width: frame.width, height: frame.height, channels: 3 } })
        .resize(this.cellWidth, this.cellHeight, { fit: 'fill' })
        .raw()
        .toBuffer();
    } catch (error) {
      throw aboutSubject(error, this.task.template);
    }
  }

  private async flush(index: number): Promise<void> {
    const sheet = this.open.get(index);
    if (sheet === undefined) return;
    this.open.delete(index);
    const key = renderSpriteName(this.task.template, this.context, index + 1, sheet.firstTimeMs);
    const path = this.writer.reserve(this.task.bucketDir, key, WHERE);
    let image: Buffer;
    try {
      // The sheet's size was checked against limitSpritePixels before it was made.
      image = await encodeImage(
        { width: sheet.width, height: sheet.height, rgb: sheet.canvas },
        { format: this.task.format, quality: this.quality },
      );
    } catch (error) {
      throw aboutSubject(error, key);
    }
    sheet.canvas = Buffer.alloc(0);
    const file = await this.writer.write(path, key, image);
    this.written[index] = { key, ...file, timeMs: sheet.firstTimeMs };
    debug('wrote sprite sheet %s (%dx%d, %d cell(s))', key, sheet.width, sheet.height, sheet.pasted);
  }
}

function paste(sheet: OpenSheet, rect: CellRect, pixels: Buffer): void {
  const rowBytes = rect.width * 3;
  for (let row = 0; row < rect.height; row++) {
    pixels.copy(sheet.canvas, ((rect.y + row) * sheet.width + rect.x) * 3, row * rowBytes, (row + 1) * rowBytes);
  }
}
