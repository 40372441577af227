// The contract class itself given to connect() as a host service (`services: [new
// HostApi()]`): its methods are the contract's stub() placeholders, so every call the
// plugin makes fails with PLUGWIRE_STUB. The route table counts a method of the class that
// declares it as implemented, so nothing said so; the warning now lists every method.
import { connect, readContract, serveInProcess, type Connection } from '../../lib';
import { HostApiImpl } from '../fixtures/services/host-api-impl';
import { HostApi, ServicesPlugin } from '../fixtures/services/services-contract';
import { ServicesPluginImpl } from '../fixtures/services/services-plugin-impl';

/** The PLUGWIRE_NOT_IMPLEMENTED warnings of a connect() with these services. */
async function warningsOf(services: object[]): Promise<string[]> {
  // Spied rather than listened to: jest's sandboxed process object does not see the real one's events.
  const spy = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  let conn: Connection<ServicesPlugin> | undefined;
  try {
    conn = await connect(ServicesPlugin, serveInProcess(new ServicesPluginImpl()), { services });
    return spy.mock.calls.filter(([, options]) => options?.code === 'PLUGWIRE_NOT_IMPLEMENTED').map(([warning]) => String(warning));
  } finally {
    spy.mockRestore();
    await conn?.close();
  }
}

describe('the contract class itself as a host service of connect()', () => {
  it('is warned about with PLUGWIRE_NOT_IMPLEMENTED, listing every method of the contract', async () => {
    const warnings = await warningsOf([new HostApi()]);
    expect(warnings).toHaveLength(1);
    const methods = [...readContract(HostApi, 'spec').byRoute.values()];
    expect(methods.length).toBeGreaterThan(1);
    for (const { propertyKey, route } of methods) expect(warnings[0]).toContain(`HostApi.${propertyKey} (route ${route})`);
    expect(warnings[0]).toMatch(/^HostApi does not override /);
    expect(warnings[0]).toMatch(/Override them in the class passed to the services of connect\(\)\.$/);
  });

  it('while a class that extends the contract and implements it is not warned about', async () => {
    await expect(warningsOf([new HostApiImpl()])).resolves.toEqual([]);
  });
});
