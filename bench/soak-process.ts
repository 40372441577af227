// What the soak run (bench/soak.ts) reads of processes and files on Linux: its own open
// descriptors, its plugin children from /proc, their peak memory, and the logs and socket
// files the run leaves in its directory.
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { waitFor } from '../spec/support/host-helpers';

/** Open descriptors of this process (the one readdir itself opens included, both times). */
export function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Waits (bounded) until this process's descriptor count stops changing, and returns it. */
export async function settledFdCount(): Promise<number> {
  let last = fdCount();
  let stable = 0;
  await waitFor(
    () => {
      const now = fdCount();
      stable = now === last ? stable + 1 : 0;
      last = now;
      return stable >= 5;
    },
    5000,
    'the descriptor count to settle',
    50,
  ).catch(() => undefined);
  return last;
}

export function procStat(pid: number): { ppid: number; state: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(ppid), state: state ?? '?' };
  } catch {
    return undefined;
  }
}

/** Whether pid is a live (not zombie) child of this process: safe to signal. */
export function isLiveChild(pid: number | undefined): pid is number {
  if (pid === undefined) return false;
  const stat = procStat(pid);
  return stat !== undefined && stat.ppid === process.pid && stat.state !== 'Z';
}

export function childPids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => procStat(pid)?.ppid === process.pid);
}

export function isSoakPlugin(pid: number, script: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(script);
  } catch {
    return false;
  }
}

/** Peak resident set of a process (VmHWM), bytes; 0 when it cannot be read. */
export function peakRss(pid: number): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0;
  }
}

export function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((line) => line !== '');
  } catch {
    return [];
  }
}

export function socketFiles(dir: string): string[] {
  return readdirSync(dir).filter((name) => {
    try {
      return lstatSync(path.join(dir, name)).isSocket();
    } catch {
      return false;
    }
  });
}

/** Signals the plugin, only while it is a live child of this process (never a reused pid). */
export function signalPlugin(pid: number | undefined, signal: NodeJS.Signals): boolean {
  if (!isLiveChild(pid)) return false;
  try {
    return process.kill(pid, signal);
  } catch {
    return false; // it ended meanwhile
  }
}
