/** JPEG encoding with sharp, loaded on first use. */
import type { NativeFrame } from './native.js';

type Sharp = (typeof import('sharp'))['default'];
let sharpModule: Promise<Sharp> | undefined;

function loadSharp(): Promise<Sharp> {
  sharpModule ??= import('sharp').then((module) => module.default);
  return sharpModule;
}

export async function encodeJpeg(frame: NativeFrame, quality: number): Promise<Buffer> {
  const sharp = await loadSharp();
  return sharp(frame.rgb, { raw: { width: frame.width, height: frame.height, channels: 3 } })
    .jpeg({ quality })
    .toBuffer();
}
