// connect()'s contract check: after the start it reads the plugin's manifest and compares
// it with the host's contract. 'strict' (default) refuses a plugin that lacks routes and
// terminates it, 'warn' reports them and goes on, 'off' never asks. A plugin without a
// manifest (a Go plugin) is accepted either way.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import {
  connect,
  ContractError,
  Method,
  MethodNotFoundError,
  Plugin,
  PluginError,
  readManifest,
  startRunning,
  startWithCommand,
  stub,
  type ContractCheck,
  type StartContext,
  type StartedPlugin,
  type Starter,
} from 'plugwire';
import { Modifier } from '../../samples/modifier/contract';
import { ManifestBase } from '../fixtures/manifest/manifest-contract';
import { bareHttpStarter, collectingLogger, fixture, pidAlive, rejectionOf, removeDir, spawnNode, tempDir, type Spawned } from '../support/host-helpers';

const SAMPLE = path.join(__dirname, '../../dist/samples/modifier/plugin.js');

/** The host's view: Modifier's routes plus two the sample plugin does not serve. */
@Plugin('modifier')
class WiderModifier extends Modifier {
  @Method('/missing')
  missing(): Promise<string> {
    return stub();
  }

  @Method('/other')
  other(value: string): Promise<string> {
    return stub(value);
  }
}

/** Modifier's routes plus one the sample plugin does not serve. */
@Plugin('modifier')
class OneMore extends Modifier {
  @Method('/missing')
  missing(): Promise<string> {
    return stub();
  }
}

/** What a recording starter saw: the sockets it was given and the processes it started. */
interface Started {
  readonly socket: string;
  readonly pid: number | undefined;
}

/** Wraps a starter to record every start's socket and process id. */
function recording(inner: Starter, starts: Started[]): Starter {
  return {
    name: inner.name,
    async start(context: StartContext): Promise<StartedPlugin> {
      const plugin = await inner.start(context);
      starts.push({ socket: context.socket, pid: plugin.pid });
      return plugin;
    },
  };
}

/** The error connect() rejects with; a connection it made instead is terminated before failing. */
async function refusal(connecting: Promise<{ term(): Promise<void> }>): Promise<unknown> {
  let connection: { term(): Promise<void> };
  try {
    connection = await connecting;
  } catch (error) {
    return error;
  }
  await connection.term();
  throw new Error('expected connect() to reject, but it connected');
}

function sampleStarter(): Starter {
  return startWithCommand(process.execPath, [SAMPLE], { logger: false });
}

/**
 * An in-process raw node:http plugin, as a Go plugin answers: `/modify` decorates a
 * string, anything else is a 404 with a JSON string. It records `METHOD /path` of every
 * request (without the query), and the connections they came on in `connections`. `manifest` overrides the answer at /.plugwire/manifest.
 */
function rawStarter(requests: string[], manifest?: { status: number; body: string }, connections?: Set<unknown>): Starter {
  return bareHttpStarter('raw-go', (req, body, res) => {
    connections?.add(req.socket);
    // The path, as a Go plugin sees it (the query is not part of the route).
    const url = (req.url ?? '/').split('?')[0] as string;
    requests.push(`${req.method ?? ''} ${url}`);
    const answer = (status: number, text: string): void => {
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (url === '/modify') {
      const { Payload } = JSON.parse(body.toString('utf8')) as { Payload: string };
      answer(200, `${JSON.stringify(`${Payload} decorated`)}\n`);
    } else if (url === '/.plugwire/manifest' && manifest) {
      answer(manifest.status, manifest.body);
    } else {
      answer(404, `${JSON.stringify(`method not found: ${url}`)}\n`);
    }
  });
}

describe('the contract check of connect()', () => {
  describe("'strict' (the default)", () => {
    it('refuses a plugin that lacks routes of the contract, naming them, and terminates it', async () => {
      const starts: Started[] = [];
      const error = await refusal(connect(WiderModifier, recording(sampleStarter(), starts)));

      expect(error).toBeInstanceOf(ContractError);
      expect(PluginError.is(error, 'PLUGWIRE_CONTRACT')).toBe(true);
      const contractError = error as ContractError;
      expect(contractError.missing).toEqual(['/missing', '/other']);
      expect(contractError.message).toContain('/missing, /other');
      expect(contractError.message).toContain('WiderModifier');
      expect(contractError.message).not.toMatch(/\/modify|\/greet|\/join/);

      // connect() terminated what it started before rejecting: no process, socket or directory.
      expect(starts).toHaveLength(1);
      const [{ pid, socket }] = starts as [Started];
      expect(pid).toEqual(expect.any(Number));
      expect(pidAlive(pid as number)).toBe(false);
      expect(existsSync(socket)).toBe(false);
      expect(existsSync(path.dirname(socket))).toBe(false);
    });

    it('names the plugin by its starter when a manifest lacks the plugin field', async () => {
      const body = JSON.stringify({ manifest: 1, protocol: 1, extensions: '1', methods: [{ route: '/modify' }], definitions: {} });
      const error = (await refusal(connect(OneMore, rawStarter([], { status: 200, body: `${body}\n` })))) as ContractError;
      expect(error.code).toBe('PLUGWIRE_CONTRACT');
      expect(error.message).toBe('plugin raw-go does not serve the routes /greet, /join, /missing of the contract OneMore');
    });

    it('is the default and says "the route" for a single one', async () => {
      const error = (await refusal(connect(OneMore, sampleStarter(), {}))) as ContractError;
      expect(error.code).toBe('PLUGWIRE_CONTRACT');
      expect(error.missing).toEqual(['/missing']);
      expect(error.message).toMatch(/the route \/missing\b/);
    });

    it('accepts a plugin that serves every route of the contract', async () => {
      const starts: Started[] = [];
      const { plugin, term } = await connect(Modifier, recording(sampleStarter(), starts), { contractCheck: 'strict' });
      try {
        await expect(plugin.modify('x')).resolves.toBe('x decorated');
      } finally {
        await term();
      }
      expect(pidAlive(starts[0]?.pid as number)).toBe(false);
    });

    it('accepts a plugin that serves more than the contract', async () => {
      const { plugin, client, term } = await connect(ManifestBase, startWithCommand(process.execPath, [fixture('manifest/manifest-plugin')], { logger: false }));
      try {
        await expect(plugin.base()).resolves.toBe('base');
        // The check asks for routes only: the plugin did not load its schema generator for it.
        await expect(client.call('/schema-loaded')).resolves.toBe(false);
      } finally {
        await term();
      }
    });

    it('accepts a Go plugin process, which has no manifest', async () => {
      const { plugin, client, term } = await connect(Modifier, startWithCommand(process.execPath, [fixture('compat/go-plugin')], { logger: false }));
      try {
        await expect(readManifest(client)).resolves.toBeUndefined();
        await expect(plugin.modify('go')).resolves.toBe('go decorated');
      } finally {
        await term();
      }
    });

    it('accepts a raw plugin that answers the manifest route with 404 "method not found", after asking once', async () => {
      const requests: string[] = [];
      const { plugin, term } = await connect(WiderModifier, rawStarter(requests));
      try {
        await expect(plugin.modify('raw')).resolves.toBe('raw decorated');
        // It was not checked: a route it lacks fails at the call.
        await expect(plugin.missing()).rejects.toBeInstanceOf(MethodNotFoundError);
      } finally {
        await term();
      }
      expect(requests.filter((r) => r.endsWith(' /.plugwire/manifest'))).toHaveLength(1);
      expect(requests[0]).toMatch(/^(GET|POST) \/\.plugwire\/manifest$/);
    });

    it('leaves the connection it asked on to the first call: one connection for both', async () => {
      const requests: string[] = [];
      const connections = new Set<unknown>();
      const manifest = { manifest: 1, protocol: 1, extensions: '1', methods: [{ route: '/modify' }, { route: '/greet' }, { route: '/join' }], definitions: {} };
      const { plugin, term } = await connect(Modifier, rawStarter(requests, { status: 200, body: JSON.stringify(manifest) }, connections));
      try {
        await expect(plugin.modify('once')).resolves.toBe('once decorated');
      } finally {
        await term();
      }
      expect(requests).toEqual([expect.stringMatching(/ \/\.plugwire\/manifest$/), 'POST /modify']);
      expect(connections.size).toBe(1);
    });

    it('accepts a plugin whose manifest route answers something that is not a manifest', async () => {
      const requests: string[] = [];
      const { plugin, term } = await connect(WiderModifier, rawStarter(requests, { status: 200, body: '{"hello":"world"}\n' }));
      try {
        await expect(plugin.modify('odd')).resolves.toBe('odd decorated');
      } finally {
        await term();
      }
    });

    it('refuses a raw plugin whose manifest lacks routes', async () => {
      const requests: string[] = [];
      const manifest = { manifest: 1, protocol: 1, extensions: '1', plugin: { name: 'raw', version: null }, methods: [{ route: '/modify' }, { route: '/greet' }, { route: '/join' }], definitions: {} };
      const error = (await refusal(connect(WiderModifier, rawStarter(requests, { status: 200, body: JSON.stringify(manifest) })))) as ContractError;
      expect(error.code).toBe('PLUGWIRE_CONTRACT');
      expect(error.missing).toEqual(['/missing', '/other']);
      expect(requests).toEqual([expect.stringMatching(/^(GET|POST) \/\.plugwire\/manifest$/)]);
    });
  });

  describe('with a plugin that already runs, protected by a token', () => {
    let dir: string;
    let socket: string;
    let running: Spawned;

    beforeAll(async () => {
      dir = tempDir();
      socket = path.join(dir, 'running.sock');
      running = spawnNode([SAMPLE], { PLUGIN_SOCKET: socket, PLUGWIRE_TOKEN: 'the-token' });
      await running.line(/^plugin is ready$/);
    });
    afterAll(async () => {
      if (running && running.child.exitCode === null && running.child.signalCode === null) {
        running.child.kill('SIGTERM');
        await running.exited;
      }
      removeDir(dir);
    });

    it('checks it with the right token, and leaves it running', async () => {
      const error = (await refusal(connect(WiderModifier, startRunning({ token: 'the-token' }), { socket }))) as ContractError;
      expect(error.code).toBe('PLUGWIRE_CONTRACT');
      expect(error.missing).toEqual(['/missing', '/other']);
      expect(pidAlive(running.child.pid as number)).toBe(true);
      const { plugin, term } = await connect(Modifier, startRunning({ token: 'the-token' }), { socket });
      try {
        await expect(plugin.modify('r')).resolves.toBe('r decorated');
      } finally {
        await term();
      }
      expect(pidAlive(running.child.pid as number)).toBe(true);
    });
    it('does not pass a plugin that refuses the manifest request with 401 (wrong token)', async () => {
      const error = await refusal(connect(WiderModifier, startRunning({ token: 'not-the-token' }), { socket }));
      expect(PluginError.is(error)).toBe(true);
    });
  });

  describe("'warn'", () => {
    it('connects and reports the missing routes on one line to the logger', async () => {
      const logger = collectingLogger();
      const { plugin, term } = await connect(WiderModifier, sampleStarter(), { contractCheck: 'warn', logger });
      try {
        await expect(plugin.modify('w')).resolves.toBe('w decorated');
        const error = await rejectionOf(plugin.missing());
        expect(PluginError.is(error, 'PLUGWIRE_METHOD_NOT_FOUND')).toBe(true);
      } finally {
        await term();
      }
      const reports = logger.errors.filter((line) => line.includes('/missing'));
      expect(reports).toHaveLength(1);
      const [report] = reports as [string];
      expect(report).toContain('/missing, /other');
      expect(report).toContain('WiderModifier');
      expect(report).not.toContain('\n');
      expect(logger.lines.join('\n')).not.toContain('/missing');
    });

    it('writes the line with console.warn when there is no logger', async () => {
      const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
      try {
        const { plugin, term } = await connect(WiderModifier, sampleStarter(), { contractCheck: 'warn' });
        try {
          await expect(plugin.join(['a', 'b'], '-', 2)).resolves.toBe('a-b-a-b');
        } finally {
          await term();
        }
        expect(warn).toHaveBeenCalledTimes(1);
        const [text] = warn.mock.calls[0] as [string];
        expect(text).toMatch(/^plugwire: .*\/missing, \/other/);
        expect(text).not.toContain('\n');
      } finally {
        warn.mockRestore();
      }
    });

    it('says nothing about a plugin that serves every route', async () => {
      const logger = collectingLogger();
      const { term } = await connect(Modifier, sampleStarter(), { contractCheck: 'warn', logger });
      await term();
      expect(logger.errors).toEqual([]);
    });
  });

  describe("'off'", () => {
    it('never asks for the manifest', async () => {
      const requests: string[] = [];
      const { plugin, term } = await connect(WiderModifier, rawStarter(requests), { contractCheck: 'off' });
      try {
        await expect(plugin.modify('off')).resolves.toBe('off decorated');
      } finally {
        await term();
      }
      expect(requests).toEqual(['POST /modify']);
    });

    it('connects to a plugin that lacks routes; those calls fail when made', async () => {
      const starts: Started[] = [];
      const { plugin, term } = await connect(WiderModifier, recording(sampleStarter(), starts), { contractCheck: 'off' });
      try {
        await expect(plugin.modify('x')).resolves.toBe('x decorated');
        await expect(plugin.other('x')).rejects.toMatchObject({ code: 'PLUGWIRE_METHOD_NOT_FOUND' });
      } finally {
        await term();
      }
      expect(pidAlive(starts[0]?.pid as number)).toBe(false);
    });
  });

  it('rejects an unknown mode before anything starts', async () => {
    const starts: Started[] = [];
    const error = await refusal(connect(Modifier, recording(sampleStarter(), starts), { contractCheck: 'loose' as ContractCheck }));
    expect(error).toBeInstanceOf(TypeError);
    expect(String(error)).toContain('contractCheck');
    expect(starts).toEqual([]);
  });
});
