// start() with paths that cannot work: a socket directory that is a file, and a plugin
// working directory that does not exist. Each once surfaced as a raw system error
// (EEXIST, `spawn /usr/bin/node ENOENT`); each is now a StartError that says which path.
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { PluginError, start, type Starter } from '../../lib';
import { rejectionOf, removeDir, tempDir } from '../support/host-helpers';

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
