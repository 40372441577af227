/**
 * The documentation's code, for the specs that prove it works as shown: README.md and the
 * pages under docs/. A block is found by the marker before it (`<!-- readme-test: name -->`,
 * on whichever page it is), or all TypeScript blocks of all pages are listed.
 */
import { mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.join(__dirname, '../..');
export const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** A page of the documentation. */
export interface DocPage {
  /** Its path from the repository's root: `README.md`, `docs/hosts.md`. */
  readonly path: string;
  readonly text: string;
}

/** README.md, then every docs/*.md page in name order. */
export const PAGES: readonly DocPage[] = [
  { path: 'README.md', text: README },
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => ({ path: `docs/${name}`, text: readFileSync(path.join(ROOT, 'docs', name), 'utf8') })),
];

/**
 * The body of the fenced block marked `<!-- readme-test: name -->`, on the README or a
 * docs page; a marker on two pages is an error, so a block is never found twice.
 */
export function readmeBlock(name: string): string {
  const marker = `<!-- readme-test: ${name} -->\n`;
  const pages = PAGES.filter((page) => page.text.includes(marker));
  if (pages.length === 0) throw new Error(`no page has a block marked ${marker.trim()}`);
  if (pages.length > 1) throw new Error(`${pages.map((page) => page.path).join(' and ')} both have a block marked ${marker.trim()}`);
  const text = (pages[0] as DocPage).text;
  const start = text.indexOf(marker);
  if (text.indexOf(marker, start + 1) >= 0) throw new Error(`${(pages[0] as DocPage).path} has two blocks marked ${marker.trim()}`);
  const match = /^```[^\n]*\n([\s\S]*?)^```$/m.exec(text.slice(start + marker.length));
  if (!match?.[1] || match.index !== 0) throw new Error(`no fenced block right after ${marker.trim()}`);
  return match[1];
}

/** A fenced TypeScript block of a page. */
export interface ReadmeBlock {
  /** The page it is on: `README.md`, `docs/hosts.md`. */
  readonly page: string;
  /** The page's line of its opening fence. */
  readonly line: number;
  /** Its `readme-test` marker's name, if it has one. */
  readonly marker: string | undefined;
  readonly code: string;
}

/** Every ```ts block of the README and of the docs pages, in page order. */
export function readmeTypeScriptBlocks(): ReadmeBlock[] {
  const blocks: ReadmeBlock[] = [];
  for (const page of PAGES) {
    for (const match of page.text.matchAll(/^```(?:ts|typescript)\n([\s\S]*?)^```$/gm)) {
      const before = page.text.slice(0, match.index);
      const marker = /<!-- readme-test: (\S+) -->\n$/.exec(before)?.[1];
      blocks.push({ page: page.path, line: before.split('\n').length, marker, code: match[1] as string });
    }
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
