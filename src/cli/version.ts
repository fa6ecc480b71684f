import { readFileSync } from 'node:fs';

/** framesnap's own version, from the package.json two folders above dist/cli/. */
export function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}
