/** Output name templates (SPEC section 4), filled in one pass. */
import { describe, expect, test } from 'vitest';

import {
  fillTemplate,
  IMAGE_PLACEHOLDERS,
  nameContext,
  placeholdersIn,
  renderName,
  SPRITE_PLACEHOLDERS,
} from '../dist/service/request/names.js';

describe('output names', () => {
  test('every placeholder of an image template', () => {
    const context = nameContext('videos/2024/clip.final.mp4');
    expect(context).toEqual({ ObjectPrefix: 'videos/2024/', FileName: 'clip.final', ExtName: 'mp4' });
    expect(renderName('{ObjectPrefix}{FileName}-{Count}-{SnapshotTime}.{ExtName}.jpg', context, 7, 1519.6)).toBe(
      'videos/2024/clip.final-00007-1520.mp4.jpg',
    );
  });

  test('a key at the top of its bucket, and one without an extension', () => {
    expect(nameContext('clip.mp4')).toEqual({ ObjectPrefix: '', FileName: 'clip', ExtName: 'mp4' });
    expect(nameContext('a/.hidden')).toEqual({ ObjectPrefix: 'a/', FileName: '.hidden', ExtName: '' });
  });

  test('text a placeholder brings in is not read as another placeholder', () => {
    const context = nameContext('odd{Count}{TileCount}.mp4');
    expect(renderName('{FileName}/{Count}.jpg', context, 3, 0)).toBe('odd{Count}{TileCount}/00003.jpg');
    expect(fillTemplate('{FileName}-{TileCount}.jpg', context, { TileCount: 2, SnapshotTime: 0 })).toBe('odd{Count}{TileCount}-00002.jpg');
  });

  test('a placeholder the template has no value for stays as written', () => {
    expect(fillTemplate('{Count}-{TileCount}.jpg', nameContext('a.mp4'), { TileCount: 1, SnapshotTime: 0 })).toBe('{Count}-00001.jpg');
  });

  test('what a template writes as placeholders: every {Name} of that shape, known or not', () => {
    expect(placeholdersIn('{ObjectPrefix}{Foo}-{count}/{TileCount}_{a_1}.jpg')).toEqual([
      'ObjectPrefix',
      'Foo',
      'count',
      'TileCount',
      'a_1',
    ]);
    // Braces of another shape are text of the name.
    expect(placeholdersIn('a{}{ b }{1x}{-}{{Count}}.jpg')).toEqual(['Count']);
    expect(IMAGE_PLACEHOLDERS).toEqual(['ObjectPrefix', 'FileName', 'ExtName', 'Count', 'SnapshotTime']);
    expect(SPRITE_PLACEHOLDERS).toEqual(['ObjectPrefix', 'FileName', 'ExtName', 'TileCount', 'SnapshotTime']);
  });
});
