/**
 * The parts of a JobTask for the images' format, black-frame filtering,
 * sprites and the WebVTT track (SPEC sections 5 and 6), from a validated
 * request: the sprites'
 * bucket is resolved and their key template confined to it, like the
 * images'. Called by the service on the caller's thread, before the job is
 * queued, so a bad bucket or key is refused at once.
 */
import { nameContext, outputFormat, renderName } from './names.js';
import type { ParsedRequest } from './request.js';
import { bucketFolder, checkKey, decodeKey, type BucketConfig } from '../storage/storage.js';
import { checkSheetSize, renderSpriteName } from './tile-layout.js';
import type { JobTask } from '../types.js';

export type JobFeatures = Pick<JobTask, 'format' | 'blackFrames' | 'sprites' | 'vtt'>;

export function jobFeatures(parsed: ParsedRequest, buckets: BucketConfig, inputKey: string, limitSpritePixels: number): JobFeatures {
  const context = nameContext(inputKey);
  const imageTemplate = decodeKey(parsed.output.Object, 'SnapshotConfig.OutputFile.Object');
  const features: JobFeatures = {
    format: outputFormat(renderName(imageTemplate, context, 1, 0), 'SnapshotConfig.OutputFile.Object'),
  };
  if (parsed.blackFrames !== undefined) features.blackFrames = parsed.blackFrames;
  if (parsed.tiles !== undefined && parsed.tileOutput !== undefined) {
    const bucketDir = bucketFolder(buckets, parsed.tileOutput.Bucket, 'SnapshotConfig.TileOutputFile');
    const template = decodeKey(parsed.tileOutput.Object, 'SnapshotConfig.TileOutputFile.Object');
    // The names the template makes must stay in the bucket too.
    const firstSprite = renderSpriteName(template, context, 1, 0);
    checkKey(firstSprite, 'SnapshotConfig.TileOutputFile.Object');
    const format = outputFormat(firstSprite, 'SnapshotConfig.TileOutputFile.Object');
    features.sprites = { ...parsed.tiles, bucketDir, template, format, limitSpritePixels };
    // The cell size is known now when TileOut gives it or the images' size is given: refused before any work.
    const sized = parsed.width > 0 && parsed.height > 0;
    const cellWidth = parsed.tiles.cellWidth || (sized ? parsed.width : 0);
    const cellHeight = parsed.tiles.cellHeight || (sized ? parsed.height : 0);
    if (cellWidth > 0 && cellHeight > 0) {
      checkSheetSize(parsed.tiles, cellWidth, cellHeight, limitSpritePixels);
    }
  }
  if (parsed.vtt !== undefined) features.vtt = parsed.vtt;
  return features;
}
