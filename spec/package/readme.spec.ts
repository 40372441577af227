// The README is the package's page on npm too, where a link relative to the repository
// (docs/PROTOCOL.md) leads nowhere: links must be absolute, or anchors of this README.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

const README = readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
/** The README without its fenced code blocks, whose `#` lines and brackets are code. */
const PROSE = README.replace(/^```[\s\S]*?^```$/gm, '');

/** The anchor GitHub and npm give a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

describe('README.md', () => {
  const anchors = new Set([...PROSE.matchAll(/^#{1,6} (.+)$/gm)].map((match) => slug(match[1] as string)));
  const targets = [...PROSE.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1] as string);

  it('links only to absolute URLs or to its own headings', () => {
    expect(targets.length).toBeGreaterThan(0);
    const relative = targets.filter((target) => !/^https:\/\//.test(target) && !target.startsWith('#'));
    expect(relative).toEqual([]);
  });

  it('has a heading for every anchor it links to', () => {
    const dangling = targets.filter((target) => target.startsWith('#') && !anchors.has(target.slice(1)));
    expect(dangling).toEqual([]);
  });
});
