// The plugwire command against inputs it once failed on, run as a user runs it: the built
// dist/lib/cli/plugwire.js in its own process, with real plugin processes.
import * as path from 'node:path';
import { runCli } from '../support/cli';

const ROOT = path.join(__dirname, '../..');
const SAMPLE = path.join(ROOT, 'dist/samples/modifier/plugin.js');
/** A node:http plugin that answers its manifest with CLI_MANIFEST as given. */
const BARE = path.join(ROOT, 'dist/spec/fixtures/manifest/cli-bare-manifest-plugin.js');

const run = runCli;

describe('plugwire call --timeout', () => {
  it('--timeout 0 (documented as none) calls without a timeout, and the start keeps its default bound', async () => {
    const [call, help] = await Promise.all([run(['call', '/modify', '"x"', '--timeout', '0', '--', process.execPath, SAMPLE]), run(['call', '--help'])]);
    expect(call).toEqual({ status: 0, stdout: '"x decorated"\n', stderr: '' });
    expect(help.stdout.replace(/\s+/g, ' ')).toContain('(0: none for the call, 10000 for the start)');
  });
});

describe('plugwire call with a route that cannot be sent', () => {
  it('is a usage error (exit 2) that says how to write it', async () => {
    const outcome = await run(['call', '/a b', '"x"', '--', process.execPath, SAMPLE]);
    expect(outcome).toEqual({
      status: 2,
      stdout: '',
      stderr: `plugwire: client.call(): the route must be a URL path (letters, digits, -._~!$&'()*+,;=:@/ and %XX for anything else, such as %20 for a space), got "/a b"\n`,
    });
  });
});

describe('plugwire inspect of a manifest a plugin in another language sends', () => {
  it('without schemas: shows the declared types', async () => {
    const manifest = {
      manifest: 1,
      protocol: 1,
      extensions: '1',
      plugin: { name: 'rates', version: null },
      methods: [
        { route: '/rate', name: 'rate', contract: 'rates', idempotent: true, validated: false, params: [{ type: 'string' }, { type: 'Date' }], result: { type: 'number' } },
        { route: '/ping', name: 'ping', contract: 'rates', idempotent: false, validated: false, params: [], result: { type: 'unknown' } },
      ],
      definitions: {},
    };
    const outcome = await run(['inspect', '--', process.execPath, BARE], { CLI_MANIFEST: JSON.stringify(manifest) });
    expect(outcome).toMatchObject({ status: 0, stderr: '' });
    expect(outcome.stdout.split('\n').map((line) => line.trimEnd())).toEqual([
      'plugin rates (protocol 1, plugwire extensions 1)',
      '',
      'ROUTE  METHOD  PARAMETERS    RESULT   IDEMPOTENT',
      '/rate  rate    string, Date  number   yes',
      '/ping  ping    -             unknown  no',
      '',
    ]);
  });

  it('with nothing but routes: shows them, named after the plugin command', async () => {
    const manifest = { methods: [{ route: '/a' }, { route: '/b', params: 'none', result: 7 }], definitions: { Odd: 5 } };
    const outcome = await run(['inspect', '--', process.execPath, BARE], { CLI_MANIFEST: JSON.stringify(manifest) });
    expect(outcome).toMatchObject({ status: 0, stderr: '' });
    expect(outcome.stdout.split('\n').map((line) => line.trimEnd())).toEqual([
      'plugin cli-bare-manifest-plugin (protocol ?, plugwire extensions ?)',
      '',
      'ROUTE  METHOD  PARAMETERS  RESULT  IDEMPOTENT',
      '/a     -       -           any     -',
      '/b     -       -           any     -',
      '',
      'Odd',
      '  (no validated fields)',
      '',
    ]);
  });
});
