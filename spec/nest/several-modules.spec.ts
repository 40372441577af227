// Several PlugwireModules in one application, with real plugin processes: the health
// indicator reports the plugins of all of them; Nest's 'deep-hash' module ids keep two
// register() calls apart; registerAsync() refuses options it cannot use, at once.
import * as path from 'node:path';
import { Injectable } from '@nestjs/common';
import { DefinitionError, type Remote } from '../../lib';
import { InjectPlugin, PlugwireHealthIndicator, PlugwireModule, PlugwireRegistry, type PlugwireModuleAsyncOptions } from '../../lib/nest';
import { Modifier } from '../../samples/modifier/contract';
import { Api as BillingApi } from '../fixtures/contracts/billing-api';
import { Api as SearchApi } from '../fixtures/contracts/search-api';
import { fixture } from '../support/host-helpers';
import { nestModules } from '../support/nest-modules';

/** The plain sample plugin: quick to start. */
const PLAIN_PLUGIN = path.join(__dirname, '../../dist/samples/modifier/plugin.js');
/** Serves the billing or the search `Api`, or fails to start (`fail`). */
const SAME_NAME_PLUGIN = fixture('nest/same-name-api-plugin');

const modules = nestModules();
const { compile } = modules;
afterEach(() => modules.cleanup());

const modifier = { contract: Modifier, command: process.execPath, args: [PLAIN_PLUGIN], logger: false as const };
const api = (contract: typeof BillingApi | typeof SearchApi, side: string, optional = false) => ({
  contract,
  command: process.execPath,
  args: [SAME_NAME_PLUGIN, side],
  logger: false as const,
  optional,
});

@Injectable()
class Both {
  constructor(
    @InjectPlugin(BillingApi) readonly billing: Remote<BillingApi>,
    @InjectPlugin(SearchApi) readonly search: Remote<SearchApi>,
  ) {}
}

describe('the health indicator with several PlugwireModules', () => {
  it('reports the plugins of every module, whichever module provides it', async () => {
    const moduleRef = await compile({
      imports: [PlugwireModule.register({ plugins: [modifier] }), PlugwireModule.register({ plugins: [api(BillingApi, 'billing')] })],
    });
    const registries = new Set(moduleRef.get(PlugwireRegistry, { strict: false, each: true }));
    expect(registries.size).toBe(2);
    const expected = {
      plugins: {
        status: 'up',
        plugins: {
          Modifier: expect.objectContaining({ state: 'running', restarts: 0 }),
          Api: expect.objectContaining({ state: 'running', restarts: 0 }),
        },
      },
    };
    for (const indicator of moduleRef.get(PlugwireHealthIndicator, { strict: false, each: true })) {
      await expect(indicator.isHealthy()).resolves.toEqual(expected);
    }
    // Each registry itself still tells of its own module's plugins.
    expect([...registries].map((r) => Object.keys(r.statuses())).sort()).toEqual([['Api'], ['Modifier']]);
  });

  it("reports down when a plugin of another module failed, and keys a name two modules share apart", async () => {
    const moduleRef = await compile({
      imports: [PlugwireModule.register({ plugins: [api(BillingApi, 'billing')] }), PlugwireModule.register({ plugins: [api(SearchApi, 'fail', true)] })],
    });
    for (const indicator of moduleRef.get(PlugwireHealthIndicator, { strict: false, each: true })) {
      const health = await indicator.isHealthy('plugwire');
      expect(health.plugwire.status).toBe('down');
      expect(health.plugwire.plugins).toEqual({
        Api: expect.objectContaining({ state: 'running' }),
        'Api#2': expect.objectContaining({ state: 'failed', error: expect.stringContaining('could not be started') }),
      });
    }
  });
});

describe("PlugwireModule with Nest's 'deep-hash' module ids", () => {
  it('keeps two register() calls apart, each with its own plugins', async () => {
    const moduleRef = await compile(
      {
        imports: [PlugwireModule.register({ plugins: [api(BillingApi, 'billing')] }), PlugwireModule.register({ plugins: [api(SearchApi, 'search')] })],
        providers: [Both],
      },
      { moduleIdGeneratorAlgorithm: 'deep-hash' },
    );
    const both = moduleRef.get(Both);
    await expect(Promise.all([both.billing.get('3'), both.search.get('3')])).resolves.toEqual(['billing 3', 'search 3']);
    expect(moduleRef.get(PlugwireRegistry, { strict: false, each: true })).toHaveLength(2);
  });

  it('keeps two registerAsync() calls of one contract in two modules apart', async () => {
    const asyncModule = (side: string) => PlugwireModule.registerAsync({ contracts: [BillingApi], useFactory: () => ({ plugins: [api(BillingApi, side)] }) });
    const moduleRef = await compile({ imports: [asyncModule('billing'), asyncModule('billing')] }, { moduleIdGeneratorAlgorithm: 'deep-hash' });
    const registries = moduleRef.get(PlugwireRegistry, { strict: false, each: true });
    expect(registries).toHaveLength(2);
    const pids = registries.map((r) => r.client(BillingApi)?.pid);
    expect(new Set(pids).size).toBe(2);
  });
});

describe('PlugwireModule.registerAsync() with options it cannot use', () => {
  const cases: Array<[string, unknown]> = [
    ['no options', undefined],
    ['null', null],
    ['no useFactory', { contracts: [Modifier] }],
    ['a useFactory that is no function', { contracts: [Modifier], useFactory: { plugins: [] } }],
    ['contracts that are no array', { contracts: Modifier, useFactory: () => ({ plugins: [] }) }],
    ['a contract that is no class', { contracts: [undefined], useFactory: () => ({ plugins: [] }) }],
    ['inject that is no array', { contracts: [Modifier], inject: 'Settings', useFactory: () => ({ plugins: [] }) }],
  ];

  it.each(cases)('refuses %s with a DefinitionError when called', (_, options) => {
    const call = (): unknown => PlugwireModule.registerAsync(options as PlugwireModuleAsyncOptions);
    expect(call).toThrow(DefinitionError);
    expect(call).toThrow(/^PlugwireModule\.registerAsync\(\)/);
  });
});
