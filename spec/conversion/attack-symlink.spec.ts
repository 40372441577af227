// With a symlinked node_modules (pnpm, `npm link`, a worktree shared between projects),
// plugwire uses the application's copy of class-transformer, the one its decorators
// registered into: a project whose node_modules/plugwire is a symlink to this repository
// and whose own class-transformer is a separate copy, its plugin run as a real process
// and called with curl.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { curlPost, envelopeOf } from '../fixtures/conversion/attack-conv-process';

const REPO = path.resolve(__dirname, '../..');

/** The plugin of the project, in plain CommonJS: decorators applied by hand, types named in `params`. */
const PLUGIN = `
require('reflect-metadata');
const { Transform, Type } = require('class-transformer');
const { Method, Plugin, serve, stub } = require('plugwire');

class Inner {}
Transform(({ value }) => String(value).toUpperCase())(Inner.prototype, 'word');

class Shouted {}
Transform(({ value }) => String(value).toUpperCase())(Shouted.prototype, 'word');
Type(() => Inner)(Shouted.prototype, 'inner');

class Api {
  shout(shouted) {
    return stub(shouted);
  }
}
Method('/shout', { params: [Shouted] })(Api.prototype, 'shout', Object.getOwnPropertyDescriptor(Api.prototype, 'shout'));
Plugin('linked')(Api);

class LinkedPlugin extends Api {
  async shout(shouted) {
    return [shouted.constructor.name, shouted.word, shouted.inner && shouted.inner.constructor.name, shouted.inner && shouted.inner.word].join(' ');
  }
}

void serve(new LinkedPlugin());
`;

describe('a project whose node_modules/plugwire is a symlink, with its own copy of class-transformer', () => {
  let dir: string;
  let socket: string;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pw-link-'));
    const modules = path.join(dir, 'node_modules');
    mkdirSync(modules);
    symlinkSync(REPO, path.join(modules, 'plugwire'), 'dir');
    symlinkSync(path.join(REPO, 'node_modules/reflect-metadata'), path.join(modules, 'reflect-metadata'), 'dir');
    // A copy, not a link: another module instance, with a metadata storage of its own.
    cpSync(path.join(REPO, 'node_modules/class-transformer'), path.join(modules, 'class-transformer'), { recursive: true });
    writeFileSync(path.join(dir, 'package.json'), '{"name":"linked-project","private":true}\n');
    writeFileSync(path.join(dir, 'plugin.js'), PLUGIN);
    socket = path.join(dir, 'p.sock');
    const env: NodeJS.ProcessEnv = { ...process.env, PLUGIN_SOCKET: socket };
    for (const key of ['PLUGWIRE_LIFELINE_FD', 'PLUGWIRE_SOCKET_DIR', 'PLUGWIRE_TOKEN', 'NODE_PATH']) delete env[key];
    const child = spawn(process.execPath, [path.join(dir, 'plugin.js')], { cwd: dir, env, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    stop = async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    };
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => line === 'plugin is ready' && resolve());
      child.once('close', (code) => reject(new Error(`the linked plugin exited with ${code} before it was ready`)));
    });
  });

  afterAll(async () => {
    await stop?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("applies the project's @Transform and @Type", async () => {
    const answer = await curlPost(socket, '/shout', envelopeOf({ word: 'hi', inner: { word: 'there' } }));
    expect(answer).toMatchObject({ status: 200, body: '"Shouted HI Inner THERE"\n' });
  });
});
