import { resolveConfig } from '../client/config';
import type { CallOptions } from '../client/call-options';
import { PluginInstance } from '../client/plugin-instance';
import { ContractError, PluginError, UnavailableError } from '../errors/plugin-error';
import { readContract } from '../metadata/contract';
import type { MethodDefinition, Type } from '../metadata/method-definition';
import { CALLER_PID_HEADER, HOST_SOCKET_ENV } from '../protocol/constants';
import { proxyOf, type ProxyClient, type ProxyOptions } from '../proxy/create-proxy';
import type { Remote } from '../proxy/remote';
import { currentCall, type HostEndpoint, type ServingContext } from '../server/call-context';
import { onHostEndpointReleased, processHostEndpoint } from '../server/host-endpoint';
import { attachedStarter } from '../starters/attach-to-socket';

/*
 * A plugin's side of host services: hostProxy() makes the same typed proxy as the host's
 * createProxy(), whose calls go to the host that started this plugin. The host is found
 * at each call (the one of the plugin serving the call, or this process's). A call made
 * while a plugin method serves a call inherits its deadline and its signal, as a call of
 * any client does (client/inheritance.ts).
 */

/** Every call names this process to the host (`callContext().caller.pid` there). */
const PID_HEADERS: Readonly<Record<string, string>> = Object.freeze({ [CALLER_PID_HEADER]: String(process.pid) });

/** Whether the call being served here is a host's call back from a host service. */
function servingCallback(): boolean {
  return currentCall()?.reentrant === true;
}

/** The clients of the host services this process calls, by socket path. */
const clients = new Map<string, { client: PluginInstance; ready: Promise<PluginInstance> }>();

function clientOf(endpoint: HostEndpoint): { client: PluginInstance; ready: Promise<PluginInstance> } {
  let entry = clients.get(endpoint.socket);
  if (entry) return entry;
  const client = new PluginInstance({
    // The host's token, never the plugin's own token file; a host that is gone does not come back: no wait.
    starter: attachedStarter('host', () => endpoint.token, false),
    socket: endpoint.socket,
    config: resolveConfig({ contractCheck: 'off' }),
    reentrant: servingCallback,
  });
  const ready = client.start().then(
    () => client,
    (error: unknown) => {
      clients.delete(endpoint.socket);
      throw new UnavailableError(`the host services on ${endpoint.socket} cannot be reached: the host is gone or closing`, { cause: error });
    },
  );
  ready.catch(() => undefined);
  entry = { client, ready };
  clients.set(endpoint.socket, entry);
  onHostEndpointReleased(endpoint, async () => {
    if (clients.get(endpoint.socket) === entry) clients.delete(endpoint.socket);
    await client.close();
  });
  return entry;
}

/** The link of a host proxy to the host: finds the host at each call. */
class HostLink implements ProxyClient {
  readonly name = 'host';

  constructor(
    private readonly contract: Type,
    private readonly plugin: string,
  ) {}

  call(route: string, payload?: unknown, options: CallOptions = {}): Promise<unknown> {
    return this.send(route, options, (client, named) => client.call(route, payload, named));
  }

  callMethod(definition: MethodDefinition, args: readonly unknown[], options: CallOptions, convert: boolean): Promise<unknown> {
    return this.send(definition.route, options, (client, named) => client.callMethod(definition, args, named, convert));
  }

  streamMethod(definition: MethodDefinition, args: readonly unknown[], options: CallOptions, convert: boolean): AsyncIterableIterator<unknown> {
    let inner: AsyncIterableIterator<unknown> | undefined;
    let opening: Promise<AsyncIterableIterator<unknown>> | undefined;
    let ended = false;
    // The served call is the one at the stream's call, not at each next().
    const served = currentCall();
    const open = (): Promise<AsyncIterableIterator<unknown>> =>
      (opening ??= this.send(definition.route, options, (client, named) => {
        inner = client.streamMethod(definition, args, named, convert, served);
        return Promise.resolve(inner);
      }, served));
    const iterator: AsyncIterableIterator<unknown> = {
      [Symbol.asyncIterator]: () => iterator,
      next: async () => {
        if (ended) return { done: true, value: undefined };
        try {
          const stream = inner ?? (await open());
          // Returned while the host was being found: the stream is not begun.
          if (ended) return { done: true, value: undefined };
          return await stream.next();
        } catch (error) {
          throw this.translate(error, definition.route);
        }
      },
      return: async () => {
        ended = true;
        await inner?.return?.();
        return { done: true, value: undefined };
      },
    };
    return iterator;
  }

  /** Finds the host and sends the call, naming this process. */
  private send<R>(
    route: string,
    options: CallOptions,
    run: (client: PluginInstance, named: CallOptions) => Promise<R>,
    served: ServingContext | undefined = currentCall(),
  ): Promise<R> {
    const endpoint = served ? served.hostServices : processHostEndpoint();
    if (!endpoint) {
      return Promise.reject(
        new ContractError(
          `hostProxy(${this.contract.name}): this plugin was started without host services (${HOST_SOCKET_ENV} is not set), so ${this.plugin} ` +
            `(${route}) cannot be called: the host offers it with connect(..., { services: [...] })`,
          [route],
        ),
      );
    }
    const { client, ready } = clientOf(endpoint);
    const named = { ...options, headers: options.headers ? { ...options.headers, ...PID_HEADERS } : PID_HEADERS };
    // The served call's deadline and signal are passed on by the client, as for any call.
    const sent = client.state === 'running' ? run(client, named) : ready.then((started) => run(started, named));
    return sent.catch((error: unknown) => {
      throw this.translate(error, route);
    });
  }

  /** A route the host does not serve is a contract it does not offer: say which. */
  private translate(error: unknown, route: string): unknown {
    if (!PluginError.is(error, 'PLUGWIRE_METHOD_NOT_FOUND')) return error;
    return new ContractError(
      `the host does not offer ${route} of ${this.plugin} (contract ${this.contract.name}): pass an implementation of it in the services of connect()`,
      [route],
      { cause: error },
    );
  }
}

/**
 * A typed proxy to a service of the host that started this plugin: the same proxy,
 * validation and errors as the host's {@link createProxy}, whose calls go to the host.
 *
 * @param contract - the `@Plugin()` contract class of the service, shared with the host
 * @param options - defaults for every call: a timeout, an AbortSignal, extra headers
 * @returns a {@link Remote} of the contract
 * @throws {@link DefinitionError} when the contract has no `@Method()` routes
 *
 * @remarks
 * The host is found at each call: while a plugin method serves a call, the host of that
 * plugin (so plugins served in one process each reach their own); elsewhere, the host
 * named in `PLUGWIRE_HOST_SOCKET`. A call made while a method serves a call inherits that
 * call's signal (it is aborted with it) and what is left of its deadline. A plugin whose
 * host offers no services, or not this contract, gets a {@link ContractError}
 * (`PLUGWIRE_CONTRACT`) naming the contract; a host that is gone,
 * `PLUGWIRE_UNAVAILABLE`. Calls are never sent twice to the host unless the method is
 * idempotent, as for any call.
 *
 * @example
 * ```ts
 * const host = hostProxy(HostApi);
 * class ModifierImpl extends Modifier {
 *   override async modify(value: string) {
 *     await host.log(`modify ${value}`); // inherits this call's deadline and signal
 *     return `${value} decorated`;
 *   }
 * }
 * ```
 */
export function hostProxy<T>(contract: Type<T>, options: ProxyOptions = {}): Remote<T> {
  const { name } = readContract(contract, 'hostProxy()');
  return proxyOf(new HostLink(contract, name), contract, options, 'hostProxy()');
}
