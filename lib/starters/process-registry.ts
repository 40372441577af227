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

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', onExit);
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
