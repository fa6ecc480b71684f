/**
 * The image formats framesnap writes (through sharp), and the file extension
 * that names each. Nothing here loads sharp: a command that only parses its
 * arguments can ask which format a name means.
 */
export type ImageFormat = 'jpeg' | 'webp' | 'avif' | 'png';

export const IMAGE_FORMATS: readonly ImageFormat[] = ['jpeg', 'webp', 'avif', 'png'];

const BY_EXTENSION: ReadonlyMap<string, ImageFormat> = new Map([
  ['jpg', 'jpeg'],
  ['jpeg', 'jpeg'],
  ['png', 'png'],
  ['webp', 'webp'],
  ['avif', 'avif'],
]);

/** The extensions that name a format framesnap writes, for messages: ".jpg, .jpeg, .png, .webp or .avif". */
export const WRITTEN_EXTENSIONS = ((names: string[]) => `${names.slice(0, -1).join(', ')} or ${names.at(-1)!}`)(
  [...BY_EXTENSION.keys()].map((extension) => `.${extension}`),
);

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
