#!/usr/bin/env node
// The import graph of src/ (type imports included) must have no cycles, and
// its layers must point one way (README, "Layout"):
//
//   cli/, index.ts  ->  server/  ->  service/service.ts  ->  service/jobs  ->  service/stores  ->  service/worker
//     ->  service/request  ->  service/storage  ->  service/types.ts  ->  core
//
// A layer may import itself and anything to its right, never to its left;
// core (the low-level API) never imports the service. Run by `npm run lint`.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ts = createRequire(import.meta.url)('typescript');
const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');

/** Layers, from the top; a file's layer is the first whose pattern matches its path under src/. */
const LAYERS = [
  ['entry', /^(index|cli)\.ts$|^cli\//],
  ['server', /^server\//],
  ['service', /^service\/service\.ts$/],
  ['jobs', /^service\/jobs\//],
  ['stores', /^service\/stores\//],
  ['worker', /^service\/worker\//],
  ['request', /^service\/request\//],
  ['storage', /^service\/storage\//],
  ['types', /^service\/types\.ts$/],
  ['core', /^core\//],
];

function layerOf(file) {
  const path = relative(src, file).split('\\').join('/');
  const index = LAYERS.findIndex(([, pattern]) => pattern.test(path));
  if (index < 0) throw new Error(`${path}: in no layer; add it to LAYERS in scripts/check-layers.mjs`);
  return index;
}

const config = ts.getParsedCommandLineOfConfigFile(
  join(root, 'tsconfig.json'),
  {},
  { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
);
const files = config.fileNames.map((file) => resolve(file));
const graph = new Map();
for (const file of files) {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const targets = [];
  for (const { fileName } of importedFiles) {
    if (!fileName.startsWith('.')) continue;
    const target = resolve(dirname(file), fileName.replace(/\.js$/, '.ts'));
    if (files.includes(target)) targets.push(target);
  }
  graph.set(file, targets);
}

const problems = [];
const name = (file) => relative(root, file);
for (const [file, targets] of graph) {
  for (const target of targets) {
    if (layerOf(target) < layerOf(file)) {
      problems.push(
        `${name(file)} imports ${name(target)}: layer ${LAYERS[layerOf(file)][0]} may not import layer ${LAYERS[layerOf(target)][0]}`,
      );
    }
  }
}

// Cycles: Tarjan's strongly connected components.
let counter = 0;
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
function visit(file) {
  index.set(file, counter);
  low.set(file, counter);
  counter += 1;
  stack.push(file);
  onStack.add(file);
  for (const target of graph.get(file)) {
    if (!index.has(target)) {
      visit(target);
      low.set(file, Math.min(low.get(file), low.get(target)));
    } else if (onStack.has(target)) {
      low.set(file, Math.min(low.get(file), index.get(target)));
    }
  }
  if (low.get(file) === index.get(file)) {
    const component = [];
    let member;
    do {
      member = stack.pop();
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    const selfImport = graph.get(file).includes(file);
    if (component.length > 1 || selfImport) problems.push(`import cycle: ${component.map(name).sort().join(' <-> ')}`);
  }
}
for (const file of graph.keys()) if (!index.has(file)) visit(file);

if (problems.length > 0) {
  for (const problem of problems) process.stderr.write(`check-layers: ${problem}\n`);
  process.exit(1);
}
const edges = [...graph.values()].reduce((sum, targets) => sum + targets.length, 0);
process.stdout.write(`check-layers: ${graph.size} modules, ${edges} imports, no cycles, layers point one way\n`);
