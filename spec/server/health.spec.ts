// The health route: the server answers it itself, behind the token like every route,
// without running user code, so the host's liveness check learns whether the plugin's
// event loop turns.
import * as path from 'node:path';
import { Method, Plugin, serve, type PluginServer } from '../../lib';
import { HEALTH_ROUTE } from '../../lib/protocol/constants';
import { rawRequest } from '../support/raw-http';
import { removeDir, tempDir } from '../support/host-helpers';

@Plugin()
class Counted {
  static calls = 0;

  @Method('/hit')
  hit(): number {
    return ++Counted.calls;
  }
}

const TOKEN = 'health-spec-token';
const AUTH = { Authorization: `Bearer ${TOKEN}` };

describe('the health route', () => {
  let dir: string;
  let socket: string;
  let server: PluginServer;

  beforeAll(async () => {
    dir = tempDir();
    socket = path.join(dir, 'health.sock');
    server = await serve(new Counted(), { socket, token: TOKEN, standalone: false, announce: false });
  });
  afterAll(async () => {
    await server.close();
    removeDir(dir);
  });

  it('is /.plugwire/health', () => {
    expect(HEALTH_ROUTE).toBe('/.plugwire/health');
  });

  it.each(['GET', 'POST'])('answers %s with 200 and a small JSON body, without calling user code', async (method) => {
    const res = await rawRequest(socket, { method, path: HEALTH_ROUTE, headers: AUTH, body: method === 'POST' ? '{}' : undefined });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(res.body)).toEqual({ status: 'ok' });
    expect(Counted.calls).toBe(0);
  });

  it('answers HEAD with the headers alone', async () => {
    const res = await rawRequest(socket, { method: 'HEAD', path: HEALTH_ROUTE, headers: AUTH });
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
  });

  it('takes a query string', async () => {
    const res = await rawRequest(socket, { method: 'GET', path: `${HEALTH_ROUTE}?probe=1`, headers: AUTH });
    expect(res.status).toBe(200);
  });

  it.each([
    ['no token', {}],
    ['a wrong token', { Authorization: 'Bearer wrong' }],
  ])('answers 401 to a request with %s', async (_what, headers) => {
    const res = await rawRequest(socket, { method: 'GET', path: HEALTH_ROUTE, headers });
    expect(res.status).toBe(401);
  });

  it('answers 405 with Allow to another method, 204 to OPTIONS', async () => {
    const put = await rawRequest(socket, { method: 'PUT', path: HEALTH_ROUTE, headers: AUTH });
    expect(put.status).toBe(405);
    expect(put.headers['allow']).toBe('GET, HEAD, POST, OPTIONS');
    const options = await rawRequest(socket, { method: 'OPTIONS', path: HEALTH_ROUTE, headers: AUTH });
    expect(options.status).toBe(204);
    expect(options.headers['allow']).toBe('GET, HEAD, POST, OPTIONS');
  });
});
