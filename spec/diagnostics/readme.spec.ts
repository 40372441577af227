// The diagnostics subscriber of docs/observability.md (the block marked
// `<!-- readme-test: src/diagnostics.ts -->`) as a user has it: compiled with the README's
// tsconfig.json in a CommonJS and in an ES module project that imports the built package as
// `plugwire`, then loaded before a host (fixtures/diagnostics/diagnostics-host.ts) whose calls
// and plugin crash it must report.
import { spawn } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fixture, removeDir, tempDir } from '../support/host-helpers';
import { readmeBlock, ROOT } from '../support/readme';


/** Runs a command to its end ('close': both pipes read); resolves with what it printed. */
function run(command: string, args: readonly string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_DEBUG: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += String(chunk)));
    child.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.each([
  ['a CommonJS', 'commonjs', '--require'],
  ['an ES module', 'module', '--import'],
] as const)("the documented diagnostics subscriber in %s project", (_label, type, preload) => {
  let dir: string;

  beforeAll(() => {
    dir = tempDir();
    mkdirSync(path.join(dir, 'src'));
    mkdirSync(path.join(dir, 'node_modules'));
    // The built package as `plugwire`, and the type definitions it and the README's tsconfig use.
    symlinkSync(ROOT, path.join(dir, 'node_modules/plugwire'), 'dir');
    symlinkSync(path.join(ROOT, 'node_modules/@types'), path.join(dir, 'node_modules/@types'), 'dir');
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `diagnostics-${type}`, private: true, ...(type === 'module' ? { type } : {}) }));
    writeFileSync(path.join(dir, 'tsconfig.json'), readmeBlock('tsconfig.json'));
    writeFileSync(path.join(dir, 'src/diagnostics.ts'), readmeBlock('src/diagnostics.ts'));
  });

  afterAll(() => {
    removeDir(dir);
  });

  it('compiles as shown, and reports the calls, the failed call and the crash of a host it is loaded into', async () => {
    const compiled = await run(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.'], dir);
    expect(compiled).toMatchObject({ code: 0, stdout: '' });

    const host = await run(process.execPath, [preload, './dist/diagnostics.js', fixture('diagnostics/diagnostics-host'), 'restart'], dir);
    expect(host.code).toBe(0);
    const [, first] = /^pids (\d+) \d+$/m.exec(host.stdout) ?? [];
    const lines = host.stdout.split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^setup-plugin \/wait took \d+\.\d ms$/),
        'setup-plugin /coded failed: PLUGWIRE_REMOTE',
        `setup-plugin (pid ${first}) died: SIGKILL`,
      ]),
    );
    // term() ends the second process: an expected exit, not reported.
    expect(lines.filter((line) => line.includes('died'))).toHaveLength(1);
  }, 60_000);
});
