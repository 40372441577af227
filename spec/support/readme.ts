/**
 * The README's code, for the specs that prove it works as shown: a block is found by the
 * marker before it (`<!-- readme-test: name -->`), or all TypeScript blocks are listed.
 */
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.join(__dirname, '../..');
export const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The body of the README's fenced block marked `<!-- readme-test: name -->`. */
export function readmeBlock(name: string): string {
  const marker = `<!-- readme-test: ${name} -->\n`;
  const start = README.indexOf(marker);
  if (start < 0) throw new Error(`README.md has no block marked ${marker.trim()}`);
  const match = /^```[^\n]*\n([\s\S]*?)^```$/m.exec(README.slice(start + marker.length));
  if (!match?.[1] || match.index !== 0) throw new Error(`no fenced block right after ${marker.trim()}`);
  return match[1];
}

/** A fenced TypeScript block of the README. */
export interface ReadmeBlock {
  /** The README line of its opening fence. */
  readonly line: number;
  /** Its `readme-test` marker's name, if it has one. */
  readonly marker: string | undefined;
  readonly code: string;
}

/** Every ```ts block of the README, in order. */
export function readmeTypeScriptBlocks(): ReadmeBlock[] {
  const blocks: ReadmeBlock[] = [];
  for (const match of README.matchAll(/^```(?:ts|typescript)\n([\s\S]*?)^```$/gm)) {
    const before = README.slice(0, match.index);
    const marker = /<!-- readme-test: (\S+) -->\n$/.exec(before)?.[1];
    blocks.push({ line: before.split('\n').length, marker, code: match[1] as string });
  }
  return blocks;
}

/**
 * Makes `dir/node_modules` hold plugwire (this checkout, built) and the named packages of
 * this checkout, as an installed project would have them.
 */
export function linkPackages(dir: string, names: readonly string[]): void {
  mkdirSync(path.join(dir, 'node_modules', '@types'), { recursive: true });
  mkdirSync(path.join(dir, 'node_modules', '@nestjs'), { recursive: true });
  symlinkSync(ROOT, path.join(dir, 'node_modules', 'plugwire'));
  for (const name of names) symlinkSync(path.join(ROOT, 'node_modules', name), path.join(dir, 'node_modules', name));
}
