/**
 * plugwire: plugins as separate processes, over HTTP/1.1 on a Unix socket, wire-compatible
 * with the Go library tilotech/go-plugin.
 * @packageDocumentation
 * @module plugwire
 */
import 'reflect-metadata';

export { Plugin, stub } from './decorators/plugin.decorator';
export { Method } from './decorators/method.decorator';
export type { MethodDefinition, MethodOptions, PluginDefinition, Type } from './metadata/method-definition';

export { serve } from './server/serve';
export type { PluginServer, ServeOptions } from './server/serve';
export { callContext, outsideCall } from './server/call-context';
export type { CallContext, CallerInfo } from './server/call-context';
export { hostProxy } from './services/host-proxy';

export { start, startPlugin } from './host/start';
export type { StartOptions, StartResult } from './host/start';
export { connect } from './host/connect';
export type { Connection, ConnectOptions } from './host/connect';
export { DEFAULT_REMAINING_MARGIN, remainingTime } from './host/remaining-time';
export type { RemainingTimeSource } from './host/remaining-time';
export { PluginClient } from './client/plugin-client';
export type { InstanceStats, PluginCounters, PluginLoad, PluginState, PluginStats } from './client/plugin-client';
export type { CallOptions } from './client/call-options';
export { defaultConfig } from './client/config';
export type { ContractCheck, LivenessPolicy, PluginConfig, PluginConfigInput, PluginLimits, PluginLogger, RestartPolicy } from './client/config';

export { closeProxy, createProxy, releaseProxy, withOptions } from './proxy/create-proxy';
export type { ProxyOptions } from './proxy/create-proxy';
export type { Remote } from './proxy/remote';

export { spawnCommand, startWithCommand } from './starters/spawn-command';
export type { CommandOptions } from './starters/spawn-command';
export { serveInProcess, startWithProvider } from './starters/serve-in-process';
export { attachToSocket, startRunning } from './starters/attach-to-socket';
export type { AttachOptions, RunningOptions } from './starters/attach-to-socket';
export type { PluginExit, StartContext, StartedPlugin, Starter } from './starters/starter';

export { ErrorCodes, ErrorStatus } from './errors/error-codes';
export type { ErrorCode } from './errors/error-codes';
export {
  AbortedError,
  ClosedError,
  ContractError,
  DefinitionError,
  MethodNotFoundError,
  OverloadedError,
  PluginError,
  ProtocolError,
  RemoteError,
  StartError,
  StubError,
  TimeoutError,
  UnavailableError,
  ValidationError,
  // deprecated aliases, removed in 0.3
  CallAbortedError,
  CallTimeoutError,
  PayloadValidationError,
  StubCalledError,
} from './errors/plugin-error';
export type { FieldViolation, PluginErrorOptions, RemoteErrorInfo, StartFailure } from './errors/plugin-error';

export { READY_LINE, FAILED_LINE, SOCKET_ENV, HOST_SOCKET_ENV, HOST_TOKEN_ENV, TOKEN_FILE_ENV } from './protocol/constants';

export { DiagnosticChannels } from './diagnostics/channels';
export type {
  CallMessage,
  PluginExitMessage,
  PluginReadyMessage,
  PluginSpawnMessage,
  PluginStartErrorMessage,
  ServedCallMessage,
} from './diagnostics/channels';

export { MANIFEST_ROUTE } from './manifest/manifest';
export type { JsonSchema, Manifest, ManifestMethod, ManifestValue } from './manifest/manifest';
export { readManifest } from './host/contract-check';
export type { ReadManifestOptions } from './host/contract-check';

// For `plugwire/nest` and the `plugwire` command, which take all of plugwire's code from
// this module (a lint rule): the package's main file is one bundle, and a second copy of a
// module would mean a second copy of its classes and state. Nothing else internal is
// exported. The declarations are @internal, so each export is too: the published .d.ts
// leaves both out rather than re-export a name it stripped.
/** @internal */
export { hasMethods } from './metadata/reflection-helpers';
/** @internal */
export { readContract } from './metadata/contract';
/** @internal */
export { checkSocket, configObject, resolveConfig } from './client/config';
