// start() with paths that cannot work: a socket directory that is a file, and a plugin
// working directory that does not exist or is a file. Each once surfaced as a raw system error
// (EEXIST, `spawn /usr/bin/node ENOENT`, `spawn ENOTDIR`); each is now a StartError that
// says which path.
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { PluginError, start, startWithCommand, StartError, type Starter } from '../../lib';
import { rejectionOf, removeDir, tempDir } from '../support/host-helpers';

const SAMPLE = path.join(__dirname, '../../dist/samples/modifier/plugin.js');

let dir: string;

beforeEach(() => {
  dir = tempDir();
});

afterEach(() => {
  removeDir(dir);
});

describe('start() with a socket path whose directory is a file', () => {
  it.each([
    ['the directory itself', 'taken/plugin.sock', (d: string) => `${path.join(d, 'taken')} is a file, not a directory`],
    ['a directory on the way', 'taken/sub/plugin.sock', () => 'a directory on the way to it is a file, not a directory'],
  ])('%s: fails with PLUGWIRE_START naming the path, before anything is spawned', async (_label, relative, why) => {
    writeFileSync(path.join(dir, 'taken'), 'not a directory');
    let asked = 0;
    const starter: Starter = {
      name: 'never',
      start: () => {
        asked += 1;
        return Promise.reject(new Error('not to be started'));
      },
    };
    const socket = path.join(dir, relative);
    const error = await rejectionOf(start(starter, socket));
    expect(PluginError.is(error, 'PLUGWIRE_START')).toBe(true);
    expect(error).toMatchObject({ reason: 'socket', message: `cannot make the directory of the socket path ${socket}: ${why(dir)}` });
    expect(asked).toBe(0);
  });
});

describe('startWithCommand() with a working directory that does not exist', () => {
  it.each([
    ['does not exist', 'missing'],
    ['is not a directory', 'taken'],
  ])('fails with PLUGWIRE_START saying the directory %s, not that node is missing', async (what, name) => {
    writeFileSync(path.join(dir, 'taken'), 'not a directory');
    const cwd = path.join(dir, name);
    const error = await rejectionOf(start(startWithCommand(process.execPath, [SAMPLE], { cwd, logger: false })));
    expect(error).toBeInstanceOf(StartError);
    expect(error).toMatchObject({ reason: 'spawn' });
    expect((error as Error).message).toBe(`plugin modifier could not be started: its working directory ${cwd} ${what}`);
  });
});
