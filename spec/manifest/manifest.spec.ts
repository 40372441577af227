// The manifest a plugwire plugin answers at /.plugwire/manifest, read from real plugin
// processes: the Modifier sample, and spec/fixtures/manifest/manifest-plugin.ts (one method per
// manifest feature). Raw HTTP for what plugwire's own client would hide (GET and POST,
// the token, and the requests of a version 1 host such as a Go host).
import * as path from 'node:path';
import { MANIFEST_ROUTE, PayloadValidationError, PluginError, readManifest, start, startWithCommand, type Manifest, type StartResult } from 'plugwire';
import { runCli } from '../support/cli';
import { fixture, rejectionOf, removeDir, spawnNode, tempDir, type Spawned } from '../support/host-helpers';
import { rawRequest } from '../support/raw-http';

const SAMPLE = path.join(__dirname, '../../dist/samples/modifier/plugin.js');
const FIXTURE = fixture('manifest/manifest-plugin');

/** Starts a plugin process (output dropped) and reads its manifest. */
async function startAndRead(script: string, env: NodeJS.ProcessEnv = {}): Promise<{ started: StartResult; manifest: Manifest }> {
  const started = await start(startWithCommand(process.execPath, [script], { env, logger: false }));
  try {
    const manifest = await readManifest(started.client);
    if (!manifest) throw new Error(`${script} answered no manifest`);
    return { started, manifest };
  } catch (error) {
    await started.term();
    throw error;
  }
}

function method(manifest: Manifest, route: string): Manifest['methods'][number] {
  const found = manifest.methods.find((m) => m.route === route);
  if (!found) throw new Error(`no method ${route} in the manifest`);
  return found;
}

const unknownResult = { type: 'unknown', schema: {} };

describe('the manifest', () => {
  describe('of the Modifier sample', () => {
    let sample: StartResult;
    let manifest: Manifest;

    beforeAll(async () => {
      ({ started: sample, manifest } = await startAndRead(SAMPLE));
    });
    afterAll(() => sample?.term());

    it('names the formats, the extension version and the plugin', () => {
      expect(MANIFEST_ROUTE).toBe('/.plugwire/manifest');
      expect(manifest).toMatchObject({ manifest: 1, protocol: 1, extensions: '1', plugin: { name: 'modifier', version: null } });
    });

    it('lists every method with its route, name, contract, parameters and result', () => {
      expect(manifest.methods).toEqual([
        {
          route: '/modify',
          name: 'modify',
          contract: 'modifier',
          idempotent: true,
          validated: true,
          implemented: true,
          params: [{ type: 'string', schema: { type: 'string' } }],
          result: unknownResult,
        },
        {
          route: '/greet',
          name: 'greet',
          contract: 'modifier',
          idempotent: true,
          validated: true,
          implemented: true,
          params: [{ type: 'Person', schema: { $ref: '#/definitions/Person' } }],
          result: { type: 'Greeting', schema: { $ref: '#/definitions/Greeting' } },
        },
        {
          route: '/join',
          name: 'join',
          contract: 'modifier',
          idempotent: true,
          validated: true,
          implemented: true,
          params: [
            { type: 'array', schema: { type: 'array' } },
            { type: 'string', schema: { type: 'string' } },
            { type: 'number', schema: { type: 'number' } },
          ],
          result: unknownResult,
        },
      ]);
    });

    it('defines Person, the nested Address and Greeting with their constraints and required fields', () => {
      expect(Object.keys(manifest.definitions).sort()).toEqual(['Address', 'Greeting', 'Person']);
      expect(manifest.definitions.Person).toEqual({
        type: 'object',
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 50 },
          age: { type: 'integer', minimum: 0, maximum: 150 },
          email: { type: 'string', format: 'email' },
          address: { $ref: '#/definitions/Address' },
        },
        required: ['name', 'age'],
      });
      expect(manifest.definitions.Address).toEqual({
        type: 'object',
        properties: { city: { type: 'string', minLength: 1, maxLength: 100 } },
        required: ['city'],
      });
      // Greeting's shout() is a method, not a field.
      expect(manifest.definitions.Greeting).toEqual({
        type: 'object',
        properties: { text: { type: 'string' }, length: { type: 'integer' } },
        required: ['text', 'length'],
      });
    });

    // The order and the names of a plugin whose classes all have names of their own.
    it('lists each parameter and result class followed by the classes its fields nest, each under its class name', () => {
      expect(Object.keys(manifest.definitions)).toEqual(['Person', 'Address', 'Greeting']);
    });

    it('is plain JSON: every $ref points into definitions', () => {
      const refs = [...JSON.stringify(manifest).matchAll(/"\$ref":"#\/definitions\/([^"]+)"/g)].map((m) => m[1]);
      expect(refs.length).toBeGreaterThan(0);
      for (const ref of refs) expect(manifest.definitions).toHaveProperty([ref as string]);
    });

    it('comes without schemas when readManifest() is told { schemas: false }', async () => {
      const bare = await readManifest(sample.client, { schemas: false });
      expect(bare).toEqual({
        ...manifest,
        methods: manifest.methods.map((m) => ({
          ...m,
          params: m.params.map((p) => ({ type: p.type })),
          result: { type: m.result.type },
        })),
        definitions: {},
      });
    });

    it('leaves the plugin serving its calls', async () => {
      await expect(sample.client.call('/modify', 'still')).resolves.toBe('still decorated');
      await expect(readManifest(sample.client)).resolves.toEqual(manifest);
    });
  });

  describe('of a plugin with every kind of method', () => {
    let plugin: StartResult;
    let manifest: Manifest;

    beforeAll(async () => {
      ({ started: plugin, manifest } = await startAndRead(FIXTURE));
    });
    afterAll(() => plugin?.term());

    it('names a plugin of several implementations after their @Plugin() names, without a version', () => {
      expect(manifest.plugin).toEqual({ name: 'manifest-test, manifest-derived', version: null });
    });

    it('lists the routes of every implementation, in order', () => {
      expect(manifest.methods.map((m) => m.route)).toEqual([
        '/charge',
        '/items',
        '/at',
        '/ping',
        '/team',
        '/check',
        '/raw',
        '/schema-loaded',
        '/sleep',
        '/fail',
        '/noisy',
        '/base',
        '/derived',
      ]);
    });

    it('marks a method with idempotent: false', () => {
      expect(method(manifest, '/charge')).toMatchObject({ name: 'charge', idempotent: false, params: [{ type: 'number', schema: { type: 'number' } }] });
      expect(manifest.methods.filter((m) => !m.idempotent).map((m) => m.route)).toEqual(['/charge']);
    });

    it('describes a returns: [Class] result as an array of the class', () => {
      expect(method(manifest, '/items')).toMatchObject({
        params: [],
        result: { type: 'Item[]', schema: { type: 'array', items: { $ref: '#/definitions/Item' } } },
      });
      expect(manifest.definitions.Item).toEqual({
        type: 'object',
        properties: { id: { type: 'integer', minimum: 1, maximum: 99 } },
        required: ['id'],
      });
    });

    it('describes a Date parameter as a date-time string', () => {
      expect(method(manifest, '/at').params).toEqual([{ type: 'Date', schema: { type: 'string', format: 'date-time' } }]);
    });

    it('gives a method without parameters an empty list and an unknown result', () => {
      expect(method(manifest, '/ping')).toEqual({
        route: '/ping',
        name: 'ping',
        contract: 'manifest-test',
        idempotent: true,
        validated: true,
        implemented: true,
        params: [],
        result: unknownResult,
      });
    });

    it('defines classes nested through @Type, with arrays, enums and patterns', () => {
      expect(method(manifest, '/team').params).toEqual([{ type: 'Team', schema: { $ref: '#/definitions/Team' } }]);
      expect(manifest.definitions.Team).toEqual({
        type: 'object',
        properties: {
          name: { type: 'string', pattern: '^[a-z]+$' },
          lead: { $ref: '#/definitions/Member' },
          members: { type: 'array', items: { $ref: '#/definitions/Member' }, maxItems: 5 },
        },
        required: ['name', 'lead', 'members'],
      });
      expect(manifest.definitions.Member).toEqual({
        type: 'object',
        properties: { handle: { type: 'string', minLength: 2, maxLength: 20 }, role: { type: 'string', enum: ['dev', 'ops'] } },
        required: ['handle', 'role'],
      });
    });

    it('gives a class without validation decorators a bare object schema, and marks validate: false', () => {
      expect(method(manifest, '/raw')).toMatchObject({ validated: false, params: [{ type: 'Bare', schema: { $ref: '#/definitions/Bare' } }] });
      expect(manifest.definitions.Bare).toEqual({ type: 'object' });
    });

    it('defines only the classes that methods use, directly or nested', () => {
      expect(Object.keys(manifest.definitions).sort()).toEqual(['Bare', 'Checked', 'Item', 'Member', 'Team']);
    });

    it('is built for DTOs with asynchronous validators, which the plugin still runs', async () => {
      expect(manifest.definitions.Checked).toEqual({ type: 'object', properties: { name: { type: 'string' } }, required: ['name'] });
      await expect(plugin.client.call('/check', { name: 'known' })).resolves.toBe('checked known');
      const error = (await rejectionOf(plugin.client.call('/check', { name: 'stranger' }))) as PayloadValidationError;
      expect(PluginError.is(error, 'PLUGWIRE_VALIDATION')).toBe(true);
      expect(error.side).toBe('plugin');
      expect(error.violations).toEqual([expect.objectContaining({ path: 'name', constraints: { knownName: 'name is not known' } })]);
      await expect(plugin.client.call('/team', { name: 'core', lead: { handle: 'ada', role: 'dev' }, members: [{ handle: 'bob', role: 'ops' }] })).resolves.toBe(2);
    });

    it('names the @Plugin() contract that declares an inherited route', () => {
      expect(method(manifest, '/base').contract).toBe('manifest-base');
    });

    it('names the implementation\'s contract for its own routes', () => {
      expect(method(manifest, '/derived').contract).toBe('manifest-derived');
      expect(method(manifest, '/charge').contract).toBe('manifest-test');
    });
  });

  it('shows the name and version given to serve()', async () => {
    const { started, manifest } = await startAndRead(FIXTURE, { MANIFEST_NAME: 'ledger', MANIFEST_VERSION: '2.3.4' });
    try {
      expect(manifest.plugin).toEqual({ name: 'ledger', version: '2.3.4' });
      // The name is the plugin's; each method keeps its contract.
      expect(method(manifest, '/charge').contract).toBe('manifest-test');
    } finally {
      await started.term();
    }
  });

  describe('of a plugin with two DTO classes of the same name', () => {
    let plugin: StartResult;
    let manifest: Manifest;

    beforeAll(async () => {
      ({ started: plugin, manifest } = await startAndRead(fixture('manifest/manifest-same-name-plugin')));
    });
    afterAll(() => plugin?.term());

    it('still validates each class on its own', async () => {
      await expect(plugin.client.call('/text', { text: 'a' })).resolves.toBe('a');
      await expect(plugin.client.call('/count', { count: 2 })).resolves.toBe(2);
    });
    // the manifest tells them apart (or refuses the clash).
    it('gives each class a schema of its own fields', () => {
      const schemas = manifest.methods.map((m) => {
        const ref = String(m.params[0]?.schema?.$ref).replace('#/definitions/', '');
        return manifest.definitions[ref];
      });
      expect(schemas).toEqual([
        expect.objectContaining({ properties: { text: { type: 'string' } }, required: ['text'] }),
        expect.objectContaining({ properties: { count: { type: 'integer' } }, required: ['count'] }),
      ]);
    });
  });

  describe('of a plugin whose DTOs nest two classes of the same name from two modules', () => {
    const NESTED = fixture('manifest/manifest-nested-same-name-plugin');
    let plugin: StartResult;
    let manifest: Manifest;

    beforeAll(async () => {
      ({ started: plugin, manifest } = await startAndRead(NESTED));
    });
    afterAll(() => plugin?.term());

    const billing = { type: 'object', properties: { street: { type: 'string', minLength: 1, maxLength: 100 } }, required: ['street'] };
    const home = { type: 'object', properties: { zip: { type: 'integer', minimum: 1000, maximum: 99999 } }, required: ['zip'] };

    it('defines each under a name of its own, the second met Address_2, after the class that nests it', () => {
      expect(Object.keys(manifest.definitions)).toEqual(['Order', 'Address', 'Customer', 'Address_2']);
      expect(manifest.definitions['Address']).toEqual(billing);
      expect(manifest.definitions['Address_2']).toEqual(home);
    });

    it("points each field's $ref at its own class: with @Type(), in an array, and by its design type", () => {
      expect(manifest.definitions['Order']).toEqual({
        type: 'object',
        properties: { id: { type: 'string' }, billing: { $ref: '#/definitions/Address' } },
        required: ['id', 'billing'],
      });
      expect(manifest.definitions['Customer']).toEqual({
        type: 'object',
        properties: {
          home: { $ref: '#/definitions/Address_2' },
          previous: { type: 'array', items: { $ref: '#/definitions/Address_2' } },
          work: { $ref: '#/definitions/Address_2' },
        },
        required: ['home', 'previous'],
      });
    });

    it('gives the same names to the same classes at every start', async () => {
      const again = await startAndRead(NESTED);
      try {
        expect(again.manifest).toEqual(manifest);
      } finally {
        await again.started.term();
      }
    });

    it('validates each by its own rules, as its schema says', async () => {
      await expect(plugin.client.call('/order', { id: 'o1', billing: { street: 'Main St' } })).resolves.toBe('Main St');
      await expect(plugin.client.call('/customer', { home: { zip: 12345 }, previous: [] })).resolves.toBe(12345);
      await expect(plugin.client.call('/customer', { home: { zip: 5 }, previous: [] })).rejects.toBeInstanceOf(PayloadValidationError);
    });

    it('shows the two classes apart in plugwire inspect', async () => {
      const outcome = await runCli(['inspect', '-q', '--', process.execPath, NESTED]);
      expect(outcome).toMatchObject({ status: 0, stderr: '' });
      expect(outcome.stdout).toMatch(/^Order\n {2}id\s+string\n {2}billing\s+Address\n\nAddress\n {2}street\s+string \(1\.\.100 chars\)\n/m);
      expect(outcome.stdout).toMatch(/^Customer\n {2}home\s+Address_2\n {2}previous\s+Address_2\[\]\n {2}work\?\s+Address_2\n\nAddress_2\n {2}zip\s+integer \(1000\.\.99999\)\n$/m);
    });
  });

  describe('on the wire', () => {
    const TOKEN = 'manifest-spec-token';
    let dir: string;
    let socket: string;
    let plugin: Spawned;
    let expected: Manifest;

    beforeAll(async () => {
      dir = tempDir();
      socket = path.join(dir, 'sample.sock');
      plugin = spawnNode([SAMPLE], { PLUGIN_SOCKET: socket, PLUGWIRE_TOKEN: TOKEN });
      await plugin.line(/^plugin is ready$/);
      const reference = await startAndRead(SAMPLE);
      expected = reference.manifest;
      await reference.started.term();
    });

    afterAll(async () => {
      if (plugin && plugin.child.exitCode === null && plugin.child.signalCode === null) {
        plugin.child.kill('SIGTERM');
        await plugin.exited;
      }
      removeDir(dir);
    });

    const authorized = { Authorization: `Bearer ${TOKEN}` };

    it('answers GET with the manifest as JSON', async () => {
      const answer = await rawRequest(socket, { method: 'GET', path: MANIFEST_ROUTE, headers: authorized });
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toMatch(/^application\/json/);
      expect(answer.headers['content-length']).toBe(String(Buffer.byteLength(answer.body)));
      expect(JSON.parse(answer.body)).toEqual(expected);
    });

    it('answers POST, with or without a call body, with the same manifest', async () => {
      const [bare, enveloped] = await Promise.all([
        rawRequest(socket, { method: 'POST', path: MANIFEST_ROUTE, headers: authorized }),
        rawRequest(socket, {
          method: 'POST',
          path: MANIFEST_ROUTE,
          headers: { ...authorized, 'x-plugwire-version': '1' },
          body: JSON.stringify({ Context: { Deadline: null }, Payload: null }),
        }),
      ]);
      expect(bare.status).toBe(200);
      expect(enveloped.status).toBe(200);
      expect(JSON.parse(bare.body)).toEqual(expected);
      expect(enveloped.body).toBe(bare.body);
    });

    it('refuses a request without the token, or with another one, with 401', async () => {
      const answers = await Promise.all([
        rawRequest(socket, { method: 'GET', path: MANIFEST_ROUTE }),
        rawRequest(socket, { method: 'POST', path: MANIFEST_ROUTE }),
        rawRequest(socket, { method: 'GET', path: MANIFEST_ROUTE, headers: { Authorization: 'Bearer not-the-token' } }),
      ]);
      for (const answer of answers) {
        expect(answer.status).toBe(401);
        expect(answer.headers['www-authenticate']).toBe('Bearer');
        expect(JSON.parse(answer.body)).toEqual(expect.stringContaining('unauthorized'));
        expect(answer.body).not.toContain('/greet');
      }
    });

    it('answers only GET and POST there, and GET nowhere else', async () => {
      const [put, getRoute] = await Promise.all([
        rawRequest(socket, { method: 'PUT', path: MANIFEST_ROUTE, headers: authorized }),
        rawRequest(socket, { method: 'GET', path: '/modify', headers: authorized }),
      ]);
      expect(put.status).toBe(405);
      expect(getRoute.status).toBe(405);
    });
  });

  // A version 1 host, as tilotech/go-plugin's: PLUGIN_SOCKET only (no token, no lifeline),
  // POST <route> with {"Context":{"Deadline":...},"Payload":...}, no x-plugwire-version.
  // (Raw node:http rather than spec/support/go-host.ts, whose undici requests
  // --detectOpenHandles reports now and then after the run.)
  describe('under a version 1 (Go) host', () => {
    let dir: string;
    let socket: string;
    let plugin: Spawned;

    /** A call as a Go host sends it: the status and the decoded answer. */
    async function goCall(route: string, payload: unknown = null): Promise<{ status: number; value: unknown }> {
      const answer = await rawRequest(socket, {
        path: route,
        headers: { 'User-Agent': 'Go-http-client/1.1' },
        body: JSON.stringify({ Context: { Deadline: null }, Payload: payload }),
      });
      return { status: answer.status, value: JSON.parse(answer.body) };
    }

    beforeAll(async () => {
      dir = tempDir();
      socket = path.join(dir, 'go.sock');
      plugin = spawnNode([FIXTURE], { PLUGIN_SOCKET: socket });
      await plugin.line(/^plugin is ready$/);
    });
    afterAll(async () => {
      if (plugin && plugin.child.exitCode === null && plugin.child.signalCode === null) {
        plugin.child.kill('SIGTERM');
        await plugin.exited;
      }
      removeDir(dir);
    });

    it('is never asked for, so the plugin never builds it, and the calls work', async () => {
      await expect(goCall('/ping')).resolves.toEqual({ status: 200, value: 'pong' });
      await expect(goCall('/items')).resolves.toEqual({ status: 200, value: [{ id: 1 }, { id: 2 }] });
      // The schema generator loads at the first manifest request only.
      await expect(goCall('/schema-loaded')).resolves.toEqual({ status: 200, value: false });
    });

    it('without schemas (?schemas=false, what a contract check asks) is built without the schema generator', async () => {
      const answer = await goCall(`${MANIFEST_ROUTE}?schemas=false`);
      expect(answer.status).toBe(200);
      const manifest = answer.value as Manifest;
      expect(manifest.definitions).toEqual({});
      expect(method(manifest, '/items')).toEqual({ route: '/items', name: 'items', contract: 'manifest-test', idempotent: true, validated: true, implemented: true, params: [], result: { type: 'Item[]' } });
      expect(method(manifest, '/at').params).toEqual([{ type: 'Date' }]);
      expect(method(manifest, '/team').params).toEqual([{ type: 'Team' }]);
      await expect(goCall('/schema-loaded')).resolves.toEqual({ status: 200, value: false });
    });

    it('is served to a host that asks, even without a token (a Go host sets none)', async () => {
      const answer = await goCall(MANIFEST_ROUTE);
      expect(answer.status).toBe(200);
      expect(answer.value).toMatchObject({ manifest: 1, plugin: { name: 'manifest-test, manifest-derived' }, definitions: { Team: expect.any(Object) } });
      await expect(goCall('/schema-loaded')).resolves.toEqual({ status: 200, value: true });
    });
  });
});
