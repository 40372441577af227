/**
 * plugwire for NestJS: plugins as injectable providers (`PlugwireModule`) with host
 * services from the container, plugins written as Nest application contexts
 * (`servePlugins`) with injected host proxies (`PlugwireModule.forHost`, `InjectHost`),
 * and a terminus health indicator.
 * Import it as `plugwire/nest`; the package root never loads it.
 * @packageDocumentation
 * @module plugwire/nest
 */
export { PlugwireModule } from './plugwire.module';
export { PlugwireRegistry } from './plugwire.registry';
export { PlugwireHealthIndicator } from './health.indicator';
export type { PlugwireHealthResult } from './health.indicator';
export { InjectPlugin, getPluginToken } from './plugin-token';
export { InjectHost, getHostToken } from './host-token';
export { servePlugins } from './serve-plugins';
export type { InstanceStatus, PluginEntry, PluginRef, PluginStatus, PlugwireHostOptions, PlugwireModuleAsyncOptions, PlugwireModuleOptions } from './plugwire.interfaces';
