import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

/*
 * What this host started and must not leave behind when it exits: plugin processes and
 * the private socket directories. The 'exit' handler is synchronous, so it can only
 * signal the children; they remove their own sockets, and their lifeline pipe ends them
 * as well when the host dies without running it (SIGKILL).
 */
const children = new Set<ChildProcess>();
const directories = new Set<string>();
let installed = false;

/*
 * A death by signal emits no 'exit': Ctrl-C, systemd and `timeout` (which signal the whole
 * process group) would leave the directories behind. These are the signals whose default
 * is to end the process and that a terminal or service manager sends.
 */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function onExit(): void {
  for (const child of children) {
    try {
      child.kill('SIGTERM');
    } catch {
      // already gone
    }
  }
  for (const dir of directories) rmSync(dir, { recursive: true, force: true });
}

function onSignal(signal: NodeJS.Signals): void {
  // Someone else handles the signal: the application decides whether and how it ends, and
  // the 'exit' handler cleans up when it does.
  if (process.listenerCount(signal) > 1) return;
  onExit();
  // Die of the signal as the host would have without this listener, so that its parent
  // (a shell, a service manager) sees the same end.
  process.off('removeListener', onRemoveListener);
  for (const each of SIGNALS) process.off(each, onSignal);
  process.kill(process.pid, signal);
}

/** Listens for the signals, first in line. */
function listen(signal: NodeJS.Signals): void {
  // First: a once-listener (serve()'s own, in a plugin that is also a host) is removed as
  // it runs, and must still be counted when this one looks.
  if (!process.listeners(signal).includes(onSignal)) process.prependListener(signal, onSignal);
}

/**
 * An application that handled a signal and then raises it again to die of it (NestJS's
 * shutdown hooks do) removes its listener first, expecting the default action. This one
 * would take the signal instead, and the process might end with code 0 before its
 * unref'd signal watcher runs: step aside until the next turn of the event loop.
 */
function onRemoveListener(event: string | symbol): void {
  const signal = SIGNALS.find((each) => each === event);
  if (signal === undefined || process.listenerCount(signal) !== 1 || !process.listeners(signal).includes(onSignal)) return;
  process.off(signal, onSignal);
  setImmediate(() => listen(signal)).unref();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', onExit);
  for (const signal of SIGNALS) listen(signal);
  process.on('removeListener', onRemoveListener);
}

/** @internal */
export function trackChild(child: ChildProcess): void {
  install();
  children.add(child);
}

/** @internal */
export function untrackChild(child: ChildProcess): void {
  children.delete(child);
}

/** @internal */
export function trackDirectory(dir: string): void {
  install();
  directories.add(dir);
}

/** @internal */
export function untrackDirectory(dir: string): void {
  directories.delete(dir);
}
