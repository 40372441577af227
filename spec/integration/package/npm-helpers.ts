// Running npm and the commands a user would type, for the specs that install the package.
import { execFile } from 'node:child_process';
import * as path from 'node:path';

/** How long one `npm install` from the registry may take. */
export const INSTALL_TIMEOUT = 150_000;

/**
 * The environment for the commands a user would type: npm's own variables from a
 * surrounding `npm test` are dropped (a child npm would read them as its configuration),
 * and `node` is the Node.js running this test, so a run under Node 24 tests Node 24.
 */
export function userEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')));
  env['PATH'] = `${path.dirname(process.execPath)}${path.delimiter}${process.env['PATH'] ?? ''}`;
  return env;
}

export interface Output {
  stdout: string;
  stderr: string;
}

/** Runs a command; rejects with its output when it fails. */
export function run(command: string, args: string[], cwd: string, timeout = INSTALL_TIMEOUT): Promise<Output> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env: userEnv(), timeout, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} (in ${cwd}) failed: ${error.message}\n${stdout}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}
