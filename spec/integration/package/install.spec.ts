// The package as a user gets it: packed by npm from the working tree (its `prepare` script
// builds it), installed into fresh projects with nothing but the README's install line,
// and used by the README's own code and tsconfig.json, which this file reads out of
// README.md (the fenced blocks marked `<!-- readme-test: ... -->`), so the README cannot
// drift from what works. Each project installs from the registry afresh: nothing is
// shared between projects that could hide a missing dependency. (git-install.spec.ts
// installs plugwire from a git URL.)
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readmeBlock, ROOT } from '../../support/readme';
import { INSTALL_TIMEOUT, run, type Output } from './npm-helpers';

/** What `npm pack` needs to build the package: the `prepare` script's inputs. */
const PACKAGE_SOURCES = ['package.json', 'README.md', 'LICENSE', 'tsconfig.json', 'tsconfig.build.json', 'tsconfig.package.json', 'lib'];

/** Runs the README's install lines, with `plugwire` replaced by another package spec (a tarball). */
async function readmeInstall(dir: string, plugwire: string): Promise<void> {
  const lines = readmeBlock('install').split('\n').filter((line) => line.trim() !== '');
  for (const line of lines) {
    const [command, ...args] = line.trim().split(/\s+/);
    expect(command).toBe('npm');
    await run('npm', [...args.map((arg) => (arg === 'plugwire' ? plugwire : arg)), '--no-audit', '--no-fund'], dir);
  }
}

/** Writes a fresh project with the README's tsconfig.json and source files. */
function writeProject(dir: string, type: 'commonjs' | 'module'): void {
  mkdirSync(path.join(dir, 'src'), { recursive: true });
  // CommonJS is what a package.json without "type" means.
  const manifest = { name: `first-${type}-project`, version: '1.0.0', private: true, ...(type === 'module' ? { type } : {}) };
  writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(path.join(dir, 'tsconfig.json'), readmeBlock('tsconfig.json'));
  for (const file of ['src/contract.ts', 'src/plugin.ts', 'src/host.ts']) writeFileSync(path.join(dir, file), readmeBlock(file));
}

/** The major version of the TypeScript a project has installed. */
function typescriptMajor(dir: string): number {
  const { version } = JSON.parse(readFileSync(path.join(dir, 'node_modules/typescript/package.json'), 'utf8')) as { version: string };
  return Number(version.split('.')[0]);
}

/** Compiles and runs the project with the README's command line; returns what it printed. */
async function buildAndRun(dir: string): Promise<Output> {
  rmSync(path.join(dir, 'dist'), { recursive: true, force: true });
  return run('sh', ['-c', readmeBlock('run')], dir, 60_000);
}

/** Files a CommonJS file loads by relative path (its require() calls). */
function relativeRequires(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  return [...source.matchAll(/require\(["'](\.{1,2}\/[^"']+)["']\)/g)].map((match) => match[1] as string);
}

/** Every file under a directory, relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

const PROJECTS = [
  ['CommonJS', 'commonjs'],
  ['ES module', 'module'],
] as const;

let work: string;
let tarball: string;
let unpacked: string;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'pw-install-'));
  // Packed from a copy of the working tree, so that the build `npm pack` runs does not
  // rewrite the dist/ that other specs are loading.
  const source = path.join(work, 'source');
  for (const entry of PACKAGE_SOURCES) cpSync(path.join(ROOT, entry), path.join(source, entry), { recursive: true });
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(source, 'node_modules'), 'dir');
  await run('npm', ['pack', '--pack-destination', work], source);
  const packed = readdirSync(work).filter((file) => file.endsWith('.tgz'));
  expect(packed).toHaveLength(1);
  tarball = path.join(work, packed[0] as string);
  unpacked = path.join(work, 'unpacked');
  mkdirSync(unpacked);
  await run('tar', ['-xzf', tarball, '-C', unpacked], work);
  // The projects install side by side: the time goes to waiting on the registry.
  await Promise.all(
    PROJECTS.map(async ([, type]) => {
      const dir = path.join(work, type);
      writeProject(dir, type);
      await readmeInstall(dir, tarball);
    }),
  );
}, 2 * INSTALL_TIMEOUT);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('ships the bundle, the declaration files, plugwire/nest, the command, LICENSE and README', () => {
    const files = filesUnder(path.join(unpacked, 'package'));
    expect(files).toEqual(
      expect.arrayContaining([
        'LICENSE',
        'README.md',
        'package.json',
        'dist/lib/index.js',
        'dist/lib/index.d.ts',
        'dist/lib/nest/index.js',
        'dist/lib/nest/index.d.ts',
        'dist/lib/cli/plugwire.js',
      ]),
    );
    const javascript = files.filter((file) => file.endsWith('.js'));
    const outsideEntries = javascript.filter((file) => file !== 'dist/lib/index.js' && !file.startsWith('dist/lib/nest/') && !file.startsWith('dist/lib/cli/'));
    expect(outsideEntries).toEqual([]);
    expect(files.filter((file) => !/^(LICENSE|README\.md|package\.json|dist\/lib\/.+\.(js|js\.map|d\.ts))$/.test(file))).toEqual([]);
  });

  it('ships every file its JavaScript loads by relative path', () => {
    const root = path.join(unpacked, 'package');
    const missing: string[] = [];
    for (const file of filesUnder(root).filter((name) => name.endsWith('.js'))) {
      for (const request of relativeRequires(path.join(root, file))) {
        const target = path.join(path.dirname(path.join(root, file)), request);
        if (![target, `${target}.js`, `${target}.json`].some((candidate) => existsSync(candidate))) missing.push(`${file} -> ${request}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('ships source maps that carry their sources', () => {
    const root = path.join(unpacked, 'package');
    const maps = filesUnder(root).filter((file) => file.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    const withoutSources = maps.filter((file) => {
      const map = JSON.parse(readFileSync(path.join(root, file), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
      return map.sources.length === 0 || map.sourcesContent?.length !== map.sources.length || map.sourcesContent.some((content) => typeof content !== 'string');
    });
    expect(withoutSources).toEqual([]);
  });

  it('describes the package: license, repository, homepage, bugs', () => {
    const manifest = JSON.parse(readFileSync(path.join(unpacked, 'package/package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ license: 'MIT', repository: { url: expect.stringMatching(/github\.com/) }, homepage: expect.any(String), bugs: { url: expect.any(String) } });
    expect(readFileSync(path.join(unpacked, 'package/LICENSE'), 'utf8')).toMatch(/^MIT License[\s\S]*the plugwire authors/);
  });
});

describe('npm install next to NestJS', () => {
  it.each(['11', '12'])("resolves with NestJS %s (plugwire's optional peer ranges admit it)", async (major) => {
    const dir = path.join(work, `nest${major}`);
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'package.json'), `{ "name": "nest${major}-project", "version": "1.0.0", "private": true }\n`);
    // Resolving the tree is what fails on a peer conflict (ERESOLVE); nothing need be unpacked.
    const packages = [`@nestjs/common@${major}`, `@nestjs/core@${major}`, 'rxjs', tarball, 'class-validator', 'class-transformer'];
    await run('npm', ['install', '--package-lock-only', '--no-audit', '--no-fund', ...packages], dir);
    const lock = JSON.parse(readFileSync(path.join(dir, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
    expect(lock.packages['node_modules/@nestjs/common']?.version).toMatch(new RegExp(`^${major}\\.`));
    expect(lock.packages['node_modules/plugwire']).toBeDefined();
  }, INSTALL_TIMEOUT);
});

describe.each(PROJECTS)('a fresh %s project that follows the README', (_label, type) => {
  const expected = readmeBlock('output');
  let dir: string;

  beforeAll(() => {
    dir = path.join(work, type);
  });

  it('compiles with TypeScript 7 (what the install line gives) and runs: a valid call answers, an invalid one is refused', async () => {
    expect(typescriptMajor(dir)).toBe(7);
    const { stdout, stderr } = await buildAndRun(dir);
    expect(stdout).toBe(expected);
    expect(stderr).toBe('');
    const host = readFileSync(path.join(dir, 'dist/host.js'), 'utf8');
    expect(host.includes('require(')).toBe(type === 'commonjs');
    // The refusal above comes from validation, which needs the parameter types TS 7 emitted.
    expect(readFileSync(path.join(dir, 'dist/contract.js'), 'utf8')).toContain('__metadata("design:paramtypes", [Person])');
  }, 60_000);

  it('compiles with TypeScript 5 and runs the same', async () => {
    await run('npm', ['install', '--save-dev', 'typescript@5', '--no-audit', '--no-fund'], dir);
    expect(typescriptMajor(dir)).toBe(5);
    const { stdout, stderr } = await buildAndRun(dir);
    expect(stdout).toBe(expected);
    expect(stderr).toBe('');
  }, INSTALL_TIMEOUT);

  if (type === 'commonjs') {
    it('installs the plugwire command, which inspects the compiled plugin', async () => {
      const { stdout } = await run(path.join(dir, 'node_modules/.bin/plugwire'), ['inspect', '--', process.execPath, 'dist/plugin.js'], dir, 30_000);
      expect(stdout).toMatch(/^plugin greeter /);
      expect(stdout).toMatch(/\/greet\s+greet\s+Person/);
    }, 30_000);

    it('finds plugwire/nest also where the resolution ignores "exports" (TypeScript 5, "module": "commonjs")', async () => {
      writeFileSync(path.join(dir, 'src/nest-types.ts'), `import type { PlugwireModule } from 'plugwire/nest';\nexport type Module = PlugwireModule;\n`);
      try {
        await run(process.execPath, [path.join(dir, 'node_modules/typescript/bin/tsc'), '-p', '.', '--module', 'commonjs', '--moduleResolution', 'node10', '--noEmit'], dir, 60_000);
      } finally {
        rmSync(path.join(dir, 'src/nest-types.ts'));
      }
    }, 60_000);
  }
});
