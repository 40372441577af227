// NestJS 12 is ESM-only. Node 20.19 and later load ES modules with require() (without a
// flag), so the CommonJS plugwire/nest works with it. This installs NestJS 12 into a
// temporary directory (from spec/integration/nest12's lock file), copies the built plugwire next to
// it, and runs a Nest 12 host that starts a Nest 12 plugin.
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { removeDir, spawnNode, tempDir } from '../support/host-helpers';

const ROOT = path.join(__dirname, '../..');
let dir: string;

beforeAll(() => {
  dir = tempDir();
  for (const file of ['package.json', 'package-lock.json']) copyFileSync(path.join(__dirname, '../integration/nest12', file), path.join(dir, file));
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: 'pipe', timeout: 120_000 });
  const plugwire = path.join(dir, 'node_modules/plugwire');
  mkdirSync(plugwire, { recursive: true });
  copyFileSync(path.join(ROOT, 'package.json'), path.join(plugwire, 'package.json'));
  cpSync(path.join(ROOT, 'dist/lib'), path.join(plugwire, 'dist/lib'), { recursive: true });
  copyFileSync(path.join(ROOT, 'dist/spec/fixtures/nest/nest12-app.js'), path.join(dir, 'nest12-app.js'));
}, 150_000);

afterAll(() => removeDir(dir));

describe('NestJS 12 (ESM-only, through require(esm))', () => {
  it('a Nest 12 host injects and calls a plugin written as a Nest 12 application context; app.close() leaves no process', async () => {
    const host = spawnNode([path.join(dir, 'nest12-app.js'), 'host']);
    const { code } = await host.exited;
    expect(host.stderr()).toBe('');
    expect(code).toBe(0);
    expect(host.lines[0]).toMatch(/^nest 12\./);
    expect(host.lines).toContain('answer HELLO!');
    expect(host.lines).toContain('[Shout] plugin context closed');
    expect(host.lines[host.lines.length - 1]).toBe('plugin alive after close: false');
  });
});
