#!/usr/bin/env node
// Packs the library as ONE installable tarball: `tfjs-ddp-<version>.tgz`.
//
//   node scripts/pack-library.mjs [out-dir]     (default: the current directory; needs `npm run build` first)
//
// The workspace packages (@tfjs-ddp/*) are private and never published, so the tarball
// carries them inside as bundled dependencies (npm's bundleDependencies); their
// third-party dependencies (tfjs, ws, msgpackr, …) become the umbrella's own and come from
// the registry, deduplicated with the user's. Each workspace package is packed by npm
// itself (`npm pack`), so exactly the files it declares are what gets bundled.
// @tensorflow/tfjs is a peer dependency: the user's tf and the rank threads' must be one
// instance, or a model built with one cannot be trained with the other.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.resolve(process.argv[2] ?? '.');
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

const umbrellaDir = path.join(root, 'packages', 'tfjs-ddp');
const umbrella = readJson(path.join(umbrellaDir, 'package.json'));
/** Workspace folders by package name. */
const folders = new Map();
for (const parent of ['packages', 'apps']) {
  for (const name of readdirSync(path.join(root, parent))) {
    const file = path.join(root, parent, name, 'package.json');
    try {
      folders.set(readJson(file).name, path.join(root, parent, name));
    } catch {
      // not a package folder
    }
  }
}

// Every workspace package the library and the CLI reach.
const bundled = new Set();
const pending = ['@tfjs-ddp/cli', ...Object.keys(umbrella.dependencies)];
while (pending.length > 0) {
  const name = pending.pop();
  if (!name.startsWith('@tfjs-ddp/') || bundled.has(name)) continue;
  bundled.add(name);
  pending.push(...Object.keys(readJson(path.join(folders.get(name), 'package.json')).dependencies ?? {}));
}

const stage = mkdtempSync(path.join(tmpdir(), 'pack-library-'));
try {
  const pkg = path.join(stage, 'tfjs-ddp');
  const dependencies = {};
  for (const name of [...bundled].sort()) {
    const folder = folders.get(name);
    const [{ filename }] = JSON.parse(npm(['pack', '--json', '--pack-destination', stage], folder));
    const target = path.join(pkg, 'node_modules', name);
    mkdirSync(target, { recursive: true });
    execFileSync('tar', ['-xzf', path.join(stage, filename), '-C', target, '--strip-components=1']);
    const own = readJson(path.join(folder, 'package.json'));
    dependencies[name] = own.version;
    for (const [dep, range] of Object.entries(own.dependencies ?? {})) {
      if (dep.startsWith('@tfjs-ddp/') || dep === '@tensorflow/tfjs') continue;
      if (dependencies[dep] !== undefined && dependencies[dep] !== range) throw new Error(`${dep}: ${dependencies[dep]} and ${range} wanted`);
      dependencies[dep] = range;
    }
  }
  cpSync(path.join(umbrellaDir, 'dist'), path.join(pkg, 'dist'), {
    recursive: true,
    filter: (source) => !/\.test\.(js|d\.ts)(\.map)?$/.test(source) && !source.includes('test-fixtures'),
  });
  mkdirSync(path.join(pkg, 'bin'));
  writeFileSync(path.join(pkg, 'bin', 'tfjs-ddp.js'), "#!/usr/bin/env node\nawait import('@tfjs-ddp/cli/dist/main.js');\n", { mode: 0o755 });
  cpSync(path.join(root, 'README.md'), path.join(pkg, 'README.md'));
  const manifest = {
    name: umbrella.name,
    version: umbrella.version,
    description: umbrella.description,
    license: 'Apache-2.0',
    type: 'module',
    exports: umbrella.exports,
    bin: { 'tfjs-ddp': 'bin/tfjs-ddp.js' },
    engines: readJson(path.join(root, 'package.json')).engines,
    peerDependencies: { '@tensorflow/tfjs': umbrella.dependencies['@tensorflow/tfjs'] },
    dependencies: Object.fromEntries(Object.entries(dependencies).sort(([a], [b]) => a.localeCompare(b))),
    bundleDependencies: [...bundled].sort(),
  };
  writeFileSync(path.join(pkg, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  mkdirSync(outDir, { recursive: true });
  const [{ filename, size, entryCount }] = JSON.parse(npm(['pack', '--json', '--pack-destination', outDir], pkg));
  console.log(JSON.stringify({ tarball: path.join(outDir, filename), bytes: size, files: entryCount, bundled: [...bundled].sort() }));
} finally {
  rmSync(stage, { recursive: true, force: true });
}
