// `npm install` from a git URL, as `npm install github:plugwire/plugwire` does: npm clones
// the repository, installs its development dependencies, runs its `prepare` script and
// packs the result. This installs the committed tree of this repository (HEAD, not the
// working tree), so on a clean clone it checks what users would get.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { INSTALL_TIMEOUT, run } from './npm-helpers';

const ROOT = path.join(__dirname, '../../..');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pw-git-install-'));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npm install from a git URL', () => {
  it('builds the committed tree through the prepare script and gives a package that loads, with its command', async () => {
    writeFileSync(path.join(dir, 'package.json'), '{ "name": "from-git", "version": "1.0.0", "private": true }\n');
    // Slower than a registry install: npm installs every development dependency to build.
    await run('npm', ['install', `git+file://${ROOT}`, '--no-audit', '--no-fund'], dir, 2 * INSTALL_TIMEOUT);
    const loaded = await run(process.execPath, ['-e', `const p = require('plugwire'); console.log(typeof p.connect, typeof p.PluginError)`], dir, 30_000);
    expect(loaded.stdout).toBe('function function\n');
    const version = await run(path.join(dir, 'node_modules/.bin/plugwire'), ['--version'], dir, 30_000);
    expect(version.stdout.trim()).toBe((JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  }, 2 * INSTALL_TIMEOUT + 60_000);
});
