// Runs the built plugwire command as a user runs it: dist/lib/cli/plugwire.js in its own process.
import { spawn } from 'node:child_process';
import * as path from 'node:path';

/** The built command. */
export const CLI = path.join(__dirname, '../../dist/lib/cli/plugwire.js');

/** How the command ended, and what it printed. */
export interface CliOutcome {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the built command and resolves once it has exited and its output ended.
 * @param args - the command's arguments
 * @param env - variables added to this process's environment
 * @param drop - variables of this process's environment the command must not see
 */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}, drop: readonly string[] = []): Promise<CliOutcome> {
  const inherited = { ...process.env };
  for (const name of drop) delete inherited[name];
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...inherited, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  // A bound, not a wait: a command that hangs is killed and the test fails on its status.
  const bound = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(bound);
      resolve({ status, stdout, stderr });
    });
  });
}
