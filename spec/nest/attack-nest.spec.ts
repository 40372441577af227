// PlugwireModule against set-ups it once got wrong, with real plugin processes: a
// configuration a settings provider hands over as strings or with a mistake in it; two
// contracts whose classes share a name (two packages each exporting `Api`).
import * as path from 'node:path';
import { Injectable, Module, type ModuleMetadata } from '@nestjs/common';
import type { Remote } from '../../lib';
import { InjectPlugin, PlugwireHealthIndicator, PlugwireModule, PlugwireRegistry, getPluginToken } from '../../lib/nest';
import { Modifier } from '../../samples/modifier/contract';
import { Api as BillingApi } from '../fixtures/contracts/billing-api';
import { Api as SearchApi } from '../fixtures/contracts/search-api';
import { fixture, rejectionOf } from '../support/host-helpers';
import { nestModules } from '../support/nest-modules';

/** The plain sample plugin: quick to start. */
const PLAIN_PLUGIN = path.join(__dirname, '../../dist/samples/modifier/plugin.js');
/** Serves the billing or the search `Api`, or fails to start (`fail`). */
const SAME_NAME_PLUGIN = fixture('nest/same-name-api-plugin');

const modules = nestModules();
const { compile } = modules;
afterEach(() => modules.cleanup());

/** Settings as a configuration service hands them out: strings, or nothing for what is unset. */
@Injectable()
class Settings {
  values: Record<string, string | undefined> = {};
}

function settingsModule(values: Record<string, string | undefined>): ModuleMetadata {
  @Module({ providers: [{ provide: Settings, useValue: Object.assign(new Settings(), { values }) }], exports: [Settings] })
  class SettingsModule {}
  return {
    imports: [
      PlugwireModule.registerAsync({
        imports: [SettingsModule],
        inject: [Settings],
        contracts: [Modifier],
        useFactory: (settings: Settings) => ({
          plugins: [
            {
              contract: Modifier,
              command: process.execPath,
              args: [PLAIN_PLUGIN],
              logger: false,
              config: { timeout: settings.values['timeout'], connections: settings.values['connections'] } as unknown as { timeout: number },
            },
          ],
        }),
      }),
    ],
  };
}

describe('PlugwireModule configuration from a settings provider', () => {
  it('takes strings of digits as numbers and unset values as the defaults', async () => {
    const moduleRef = await compile(settingsModule({ timeout: '5000', connections: undefined }));
    const client = moduleRef.get(PlugwireRegistry).client(Modifier);
    expect(client?.config).toMatchObject({ timeout: 5000, connections: 32 });
    await expect(moduleRef.get(Modifier).modify('x')).resolves.toBe('x decorated');
  });

  it('fails the start with the configuration TypeError, not as a plugin that could not start', async () => {
    const error = await rejectionOf(compile(settingsModule({ timeout: '5 s' })));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('plugwire config: timeout must be a number of ms from 0 to 2147483647, got the string "5 s"');
  });
});

// An entry's config loaded at run time (JSON): checked as connect() checks it, the entry's
// instances and services merged in without hiding a mistake.
describe('PlugwireModule with a config loaded from JSON', () => {
  const withConfig = (config: unknown, more: object = {}): ModuleMetadata => ({
    imports: [
      PlugwireModule.register({
        plugins: [{ contract: Modifier, command: process.execPath, args: [PLAIN_PLUGIN], logger: false, config: config as { timeout: number }, ...more }],
      }),
    ],
  });

  it.each<[string, unknown, object, string]>([
    ['a misspelt field', JSON.parse('{"timout": 5000}'), {}, "unknown option 'timout' (did you mean 'timeout'?)"],
    ['a misspelt field, with the entry\'s instances', JSON.parse('{"timout": 5000}'), { instances: 2 }, "unknown option 'timout' (did you mean 'timeout'?)"],
    ['a misspelt restart field', JSON.parse('{"restart": {"maxRetries": 1}}'), {}, "unknown option 'restart.maxRetries'; the options are restart.maxRestarts, restart.initialDelay, restart.maxDelay, restart.cooldown"],
    ['a socket that is a number', JSON.parse('{"socket": 5}'), {}, 'socket must be a path (a non-empty string), got the number 5'],
    ['null, with the entry\'s instances', JSON.parse('null'), { instances: 2 }, 'the configuration must be an object, got null'],
    ['a string', JSON.parse('"fast"'), {}, 'the configuration must be an object, got the string "fast"'],
  ])('fails the start with the TypeError that names %s', async (_label, config, more, message) => {
    const error = await rejectionOf(compile(withConfig(config, more)));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe(`plugwire config: ${message}`);
  });
});

describe('PlugwireModule with two contracts whose classes share a name', () => {
  @Injectable()
  class Both {
    constructor(
      @InjectPlugin(BillingApi, 'primary') readonly billing: Remote<BillingApi>,
      @InjectPlugin(SearchApi, 'primary') readonly search: Remote<SearchApi>,
    ) {}
  }

  const entry = (contract: typeof BillingApi | typeof SearchApi, side: string, optional = false) => ({
    contract,
    name: 'primary',
    command: process.execPath,
    args: [SAME_NAME_PLUGIN, side],
    logger: false as const,
    optional,
  });

  it('gives each its own proxy and plugin, registered in one module or in two', async () => {
    expect(BillingApi.name).toBe(SearchApi.name);
    expect(getPluginToken(BillingApi, 'primary')).not.toBe(getPluginToken(SearchApi, 'primary'));
    expect(getPluginToken(BillingApi, 'primary')).toBe(getPluginToken(BillingApi, 'primary'));

    const one = await compile({ imports: [PlugwireModule.register({ plugins: [entry(BillingApi, 'billing'), entry(SearchApi, 'search')] })], providers: [Both] });
    const both = one.get(Both);
    await expect(Promise.all([both.billing.get('42'), both.search.get('42')])).resolves.toEqual(['billing 42', 'search 42']);
    expect(Object.keys(one.get(PlugwireRegistry).statuses())).toEqual(['Api:primary', 'Api:primary#2']);

    const two = await compile({
      imports: [PlugwireModule.register({ plugins: [entry(BillingApi, 'billing')] }), PlugwireModule.register({ plugins: [entry(SearchApi, 'search')] })],
      providers: [Both],
    });
    const apart = two.get(Both);
    await expect(Promise.all([apart.billing.get('7'), apart.search.get('7')])).resolves.toEqual(['billing 7', 'search 7']);
  });

  it('reports down in the health indicator when one of them failed to start', async () => {
    const moduleRef = await compile({ imports: [PlugwireModule.register({ plugins: [entry(BillingApi, 'billing'), entry(SearchApi, 'fail', true)] })], providers: [Both] });
    const registry = moduleRef.get(PlugwireRegistry);
    expect(registry.list().map((s) => s.state)).toEqual(['running', 'failed']);
    const health = await moduleRef.get(PlugwireHealthIndicator).isHealthy();
    expect(health.plugins.status).toBe('down');
    expect(health.plugins.plugins).toEqual({
      'Api:primary': expect.objectContaining({ state: 'running' }),
      'Api:primary#2': expect.objectContaining({ state: 'failed', error: expect.stringContaining('could not be started') }),
    });
    await expect(moduleRef.get(Both).billing.get('1')).resolves.toBe('billing 1');
  });
});
