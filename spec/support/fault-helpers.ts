/**
 * Helpers of the fault suite (spec/integration/faults/): timed calls and their outcomes,
 * descriptor counts, a busy host, and the fault fixtures. The general ones (waitFor, pidAlive,
 * tempDir, ...) are in host-helpers.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { PluginError, type CommandOptions, type PluginConfigInput } from '../../lib';
import { fixtureStarter } from './host-helpers';

/** Short timeouts and a quick restart policy, as the fault suite uses them. */
export const FAULT_CONFIG = {
  timeout: 3000,
  terminationGrace: 1000,
  restart: { initialDelay: 10, maxDelay: 100, cooldown: 500 },
} as const satisfies PluginConfigInput;

/** How a call ended, and how long it took. */
export type Outcome<T> = { readonly ms: number } & ({ readonly value: T } | { readonly error: unknown });

/** Runs a call and records its outcome and duration, never rejecting. */
export async function timed<T>(call: () => Promise<T>): Promise<Outcome<T>> {
  const began = Date.now();
  try {
    const value = await call();
    return { ms: Date.now() - began, value };
  } catch (error) {
    return { ms: Date.now() - began, error };
  }
}

/** The error code of an outcome (an ErrorCode), `'ok'` for an answer, or a description of a foreign error. */
export function codeOf(outcome: Outcome<unknown>): string {
  if ('value' in outcome) return 'ok';
  const { error } = outcome;
  return PluginError.is(error) ? error.code : `not a PluginError: ${String(error)}`;
}

/** An outcome for an assertion message: the value, or `CODE: message` of the error. */
export function shown(outcome: Outcome<unknown>): unknown {
  if ('value' in outcome) return outcome.value;
  const { error } = outcome;
  return PluginError.is(error) ? `${error.code}: ${error.message}` : `not a PluginError: ${String(error)}`;
}

/** Open file descriptors of a process ('self' for this one). */
export function openFds(pid: number | 'self' = 'self'): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Spawn records of fault-plugin (FAULT_SPAWN_LOG): one `{ pid, at }` per start. */
export function spawnLog(file: string): Array<{ pid: number; at: number }> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [pid, at] = line.split(' ');
      return { pid: Number(pid), at: Number(at) };
    });
}

/**
 * Waits `ms` on purpose: only to space calls in a timing race (the attack itself),
 * never to wait for something to happen.
 */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A command starter for fault-plugin (plugwire), output collected. */
export function faultStarter(env: Record<string, string> = {}, options: Omit<CommandOptions, 'logger' | 'env'> = {}): ReturnType<typeof fixtureStarter> {
  return fixtureStarter('faults/fault-plugin', { ...options, env });
}

/** A command starter for fault-raw-plugin (node:http, protocol faults), output collected. */
export function rawStarter(env: Record<string, string> = {}): ReturnType<typeof fixtureStarter> {
  return fixtureStarter('faults/fault-raw-plugin', { env });
}

/**
 * Blocks this process's event loop for `ms`, as a host busy with CPU work would: events
 * that arrive meanwhile (a connection closed by the plugin) are seen only afterwards.
 */
export function busyHost(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
