// Where a socket lives: the length check, the private directory and its removal, the
// directory of a path the user gives.
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import {
  checkSocketPath,
  fitsSocketPath,
  makePrivateSocketDirectory,
  makeSocketDirectory,
  MAX_SOCKET_PATH_BYTES,
  removeOrphanedSocketDirectory,
  removeSocketDirectory,
} from '../../lib/socket/directory';
import { thrownBy } from '../support/host-helpers';


describe('socket paths', () => {
  let scratch: string;
  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), 'pw-dir-'));
  });
  afterEach(() => rmSync(scratch, { recursive: true, force: true }));

  it('allows 107 bytes, counted in bytes not characters', () => {
    expect(fitsSocketPath('/' + 'a'.repeat(MAX_SOCKET_PATH_BYTES - 1))).toBe(true);
    expect(fitsSocketPath('/' + 'a'.repeat(MAX_SOCKET_PATH_BYTES))).toBe(false);
    expect(fitsSocketPath('/' + 'é'.repeat(54))).toBe(false); // 109 bytes, 55 characters
    expect(thrownBy(() => checkSocketPath('/' + 'a'.repeat(200)))).toMatchObject({ code: 'PLUGWIRE_START', message: expect.stringMatching(/socket path is 201 bytes, longer than the 107 a Unix socket allows/) });
  });

  it('makes a private directory (0700) for the socket, and removes it with its content', () => {
    const { socket, dir } = makePrivateSocketDirectory();
    try {
      expect(basename(socket)).toBe('plugin.sock');
      expect(socket.startsWith(dir)).toBe(true);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      writeFileSync(join(dir, 'left-over'), '');
    } finally {
      removeSocketDirectory(dir);
    }
    expect(existsSync(dir)).toBe(false);
  });

  it('makes the directory of a given path, and says why it cannot', () => {
    makeSocketDirectory(join(scratch, 'a', 'b', 'plugin.sock'));
    expect(statSync(join(scratch, 'a', 'b')).isDirectory()).toBe(true);
    writeFileSync(join(scratch, 'file'), '');
    expect(thrownBy(() => makeSocketDirectory(join(scratch, 'file', 'plugin.sock')))).toMatchObject({ code: 'PLUGWIRE_START', message: expect.stringMatching(/is a file, not a directory/) });
  });

  it("removes an orphaned host's directory only when it is empty", () => {
    const full = join(scratch, 'full');
    makeSocketDirectory(join(full, 'plugin.sock'));
    writeFileSync(join(full, 'not-ours'), '');
    removeOrphanedSocketDirectory(full);
    expect(existsSync(full)).toBe(true);
    rmSync(join(full, 'not-ours'));
    removeOrphanedSocketDirectory(full);
    expect(existsSync(full)).toBe(false);
    expect(() => removeOrphanedSocketDirectory(full)).not.toThrow();
  });
});
