#!/usr/bin/env node
// The package's dist/, as `npm pack`, `npm publish` and installs from a git URL
// build it (the `prepare` script): a clean TypeScript build without source maps
// (the package does not ship src/), then CommonJS twins of the declarations.
//
// At run time `require('framesnap')` loads the ES module itself (Node 20.19+
// and 22.12+ do that by default; see "engines"), so there is one copy of the
// library and one SnapshotError class. Only TypeScript needs more: a
// CommonJS file (module node16/nodenext) may not import declarations that
// describe an ES module (TS1479), so each dist/**/*.d.ts gets a .d.cts twin
// whose relative imports name .cjs files, and package.json's "require"
// condition points TypeScript at dist/index.d.cts.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  process.stderr.write('framesnap: building dist/ needs the dev dependencies (typescript): run npm install without --omit=dev\n');
  process.exit(1);
}
rmSync(dist, { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--sourceMap', 'false'], {
  cwd: root,
  stdio: 'inherit',
});
if (result.status !== 0) process.exit(result.status ?? 1);

/** './x.js' -> './x.cjs' in import/export specifiers and import() types. */
function toCommonJsDeclarations(text) {
  return text.replace(/(['"])(\.\.?\/[^'"\n]*?)\.js\1/g, '$1$2.cjs$1');
}

function walk(folder) {
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) walk(path);
    else if (entry.name.endsWith('.d.ts')) {
      writeFileSync(path.replace(/\.d\.ts$/, '.d.cts'), toCommonJsDeclarations(readFileSync(path, 'utf8')));
    }
  }
}
walk(dist);
