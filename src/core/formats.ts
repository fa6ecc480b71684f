/**
 * The image formats framesnap writes (through sharp), and the file extension
 * that names each. Nothing here loads sharp: a command that only parses its
 * arguments can ask which format a name means.
 */
export type ImageFormat = 'jpeg' | 'webp' | 'avif' | 'png';

export const IMAGE_FORMATS: readonly ImageFormat[] = ['jpeg', 'webp', 'avif', 'png'];

/** The extension framesnap gives each format's files. */
export const FORMAT_EXTENSIONS: Readonly<Record<ImageFormat, string>> = Object.freeze({
  jpeg: '.jpg',
  webp: '.webp',
  avif: '.avif',
  png: '.png',
});

/** MIME types, for whoever serves the images. */
export const FORMAT_MIME_TYPES: Readonly<Record<ImageFormat, string>> = Object.freeze({
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  avif: 'image/avif',
  png: 'image/png',
});

const BY_EXTENSION: ReadonlyMap<string, ImageFormat> = new Map([
  ['jpg', 'jpeg'],
  ['jpeg', 'jpeg'],
  ['webp', 'webp'],
  ['avif', 'avif'],
  ['png', 'png'],
]);

/**
 * The format an extension names (".jpg", "JPEG", "webp"; the leading dot
 * and the case do not matter), or undefined for any other extension: the
 * caller decides whether that means the default (JPEG) or a refusal.
 */
export function formatFromExtension(extension: string): ImageFormat | undefined {
  const bare = extension.startsWith('.') ? extension.slice(1) : extension;
  return BY_EXTENSION.get(bare.toLowerCase());
}

/** The format a file or object name's extension names ("a/b.WebP" -> webp), or undefined. */
export function formatFromName(name: string): ImageFormat | undefined {
  const base = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? undefined : formatFromExtension(base.slice(dot + 1));
}
