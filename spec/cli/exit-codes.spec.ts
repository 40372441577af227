// The exit statuses of the plugwire command: one table (EXIT_CODES) from which --help is
// made, and which the table in docs/cli.md must match row by row.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ErrorCodes, type ErrorCode } from '../../lib';
import { EXIT_CODES, exitStatusHelp, type ExitReason } from '../../lib/cli/exit-codes';

// The command's page, where the table moved from the README.
const PAGE = readFileSync(path.join(__dirname, '../../docs/cli.md'), 'utf8');

describe('EXIT_CODES', () => {
  it('gives every error code, usage and the unexpected a status of its own, 1 to 14', () => {
    for (const code of Object.keys(ErrorCodes) as ErrorCode[]) expect(EXIT_CODES[code]).toEqual(expect.any(Number));
    const statuses = Object.values(EXIT_CODES).sort((a, b) => a - b);
    expect(new Set(statuses).size).toBe(statuses.length);
    expect(statuses).toEqual(Array.from({ length: statuses.length }, (_, i) => i + 1));
  });

  it('exitStatusHelp() lists 0 and every status in order, each error code by name', () => {
    const lines = exitStatusHelp().split('\n');
    expect(lines[0]).toBe('Exit status:');
    const rows = lines.slice(1).map((line) => /^ {2}(\d+) +(.+)$/.exec(line));
    expect(rows.every(Boolean)).toBe(true);
    expect(rows.map((row) => Number(row?.[1]))).toEqual(Array.from({ length: rows.length }, (_, i) => i));
    for (const [reason, status] of Object.entries(EXIT_CODES) as Array<[ExitReason, number]>) {
      if (reason.startsWith('PLUGWIRE_')) expect(rows[status]?.[2]).toMatch(new RegExp(`^${reason}: `));
    }
  });

  it("matches the docs' table of exit statuses", () => {
    const section = PAGE.slice(PAGE.indexOf('# The `plugwire` command'));
    const table = section.slice(section.indexOf('| status | meaning |'));
    const rows = [...table.slice(0, table.indexOf('\n\n')).matchAll(/^\| (\d+) \| (.+) \|$/gm)].map((m) => [Number(m[1]), m[2] as string] as const);
    expect(rows.map(([status]) => status)).toEqual(Array.from({ length: Object.keys(EXIT_CODES).length + 1 }, (_, i) => i));
    for (const [reason, status] of Object.entries(EXIT_CODES) as Array<[ExitReason, number]>) {
      if (reason.startsWith('PLUGWIRE_')) expect(rows[status]?.[1]).toMatch(new RegExp(`^\`${reason}\`: `));
    }
  });
});
