// The README is the package's page on npm too, where a link relative to the repository
// (docs/PROTOCOL.md) leads nowhere: links must be absolute, or anchors of this README. The
// pages under docs/ are read on GitHub, where relative links work. Every link into the
// repository, absolute or relative, must lead to a file that exists and to a heading that
// page has, and every docs page must be reachable from the README. A path the pages name in
// code (`lib/...`, `spec/...`) must exist, so that a moved file is not left behind in the
// text, and the names deprecated in 0.2 appear only where the pages list them.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { PAGES, README, ROOT, type DocPage } from '../../support/readme';

/** Where the README's absolute links into this repository start. */
const REPOSITORY = 'https://github.com/plugwire/plugwire/blob/main/';

/** A page without its fenced code blocks, whose `#` lines and brackets are code. */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```$/gm, '');
}

/** The anchor GitHub and npm give a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a page's headings. */
function anchorsOf(text: string): Set<string> {
  return new Set([...prose(text).matchAll(/^#{1,6} (.+)$/gm)].map((match) => slug(match[1] as string)));
}

/** The targets of a page's links, `[text](target)`. */
function targetsOf(text: string): string[] {
  return [...prose(text).matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1] as string);
}

/**
 * What is wrong with a link to a file of the repository (its path from the root) and an
 * optional anchor: nothing (undefined), a missing file, or a heading its page lacks.
 */
function brokenLink(file: string, anchor: string | undefined): string | undefined {
  if (!existsSync(path.join(ROOT, file))) return `${file} does not exist`;
  if (anchor === undefined || !file.endsWith('.md')) return undefined;
  const page = PAGES.find((p) => p.path === file);
  const text = page?.text ?? '';
  return anchorsOf(text).has(anchor) ? undefined : `${file} has no heading #${anchor}`;
}

describe('README.md', () => {
  const anchors = anchorsOf(README);
  const targets = targetsOf(README);

  it('links only to absolute URLs or to its own headings', () => {
    expect(targets.length).toBeGreaterThan(0);
    const relative = targets.filter((target) => !/^https:\/\//.test(target) && !target.startsWith('#'));
    expect(relative).toEqual([]);
  });

  it('has a heading for every anchor it links to', () => {
    const dangling = targets.filter((target) => target.startsWith('#') && !anchors.has(target.slice(1)));
    expect(dangling).toEqual([]);
  });

  it('links into the repository only to files and headings that exist', () => {
    const broken = targets
      .filter((target) => target.startsWith(REPOSITORY))
      .map((target) => {
        const [file, anchor] = target.slice(REPOSITORY.length).split('#');
        return brokenLink(file as string, anchor);
      })
      .filter(Boolean);
    expect(broken).toEqual([]);
  });

  it('links to every page under docs/', () => {
    const linked = new Set(targets.filter((target) => target.startsWith(REPOSITORY)).map((target) => target.slice(REPOSITORY.length).split('#')[0]));
    const docs = PAGES.filter((page) => page.path.startsWith('docs/')).map((page) => page.path);
    expect(docs.length).toBeGreaterThan(10);
    expect(docs.filter((page) => !linked.has(page))).toEqual([]);
  });
});

/** Names deprecated in 0.2: the pages use their new names, and list the old ones once. */
const OLD_NAMES = /\b(startWithCommand|startWithProvider|startRunning|RunningOptions|releaseProxy|onShutdown|CallTimeoutError|CallAbortedError|PayloadValidationError|StubCalledError|keepAlive)\b|\bterm\(\)/g;

describe('the pages', () => {
  it("use the names of 0.2, the old ones only in the table of docs/hosts.md's Renamed in 0.2", () => {
    const found = PAGES.flatMap((page) => {
      const text = page.path === 'docs/hosts.md' ? page.text.replace(/^## Renamed in 0\.2$[\s\S]*?(?=^## |(?![\s\S]))/m, '') : page.text;
      return [...text.matchAll(OLD_NAMES)].map((match) => `${page.path}: ${match[0]}`);
    });
    expect(found).toEqual([]);
  });

  it('name only files and folders of the repository that exist', () => {
    const missing = PAGES.flatMap((page) =>
      [...page.text.matchAll(/`((?:lib|spec|samples|bench)\/[\w./-]*)`/g)]
        .map((match) => match[1] as string)
        .filter((file) => !existsSync(path.join(ROOT, file)))
        .map((file) => `${page.path}: ${file}`),
    );
    expect(missing).toEqual([]);
  });
});

describe.each(PAGES.filter((page) => page.path.startsWith('docs/')).map((page) => [page.path, page] as const))('%s', (_path, page: DocPage) => {
  it('links only to files and headings that exist', () => {
    const broken = targetsOf(page.text)
      .filter((target) => !/^[a-z]+:/.test(target))
      .map((target) => {
        const [file, anchor] = target.split('#');
        const from = file === '' ? page.path : path.posix.normalize(path.posix.join(path.posix.dirname(page.path), file as string));
        const wrong = brokenLink(from, anchor);
        return wrong && `${target}: ${wrong}`;
      })
      .filter(Boolean);
    expect(broken).toEqual([]);
  });

  it('starts with a title and links back to the README', () => {
    expect(page.text).toMatch(/^# \S/);
    expect(targetsOf(page.text)).toContain('../README.md');
  });
});
