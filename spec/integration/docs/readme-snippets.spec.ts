// Every TypeScript block of the README and of the docs/*.md pages compiles as shown: each
// is a file of one project set up as a user's (the README's tsconfig.json, CommonJS,
// plugwire and its peers installed), type-checked against the built package. A block that
// starts with a `// name.ts` comment is that file, whichever page it is on, so the host and
// plugin of docs/hosts.md and docs/plugins.md import the contract of
// docs/contracts-and-methods.md as the pages say; a block marked
// `<!-- readme-test: name -->` is that file, apart from the others (the first project has a
// contract of its own). Other blocks are named by their page and line.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type * as TypeScript from 'typescript';
import { removeDir, tempDir } from '../../support/host-helpers';
import { linkPackages, readmeBlock, readmeTypeScriptBlocks, type ReadmeBlock } from '../../support/readme';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only by this spec
const ts = require('typescript') as typeof TypeScript;

/** Where a block goes in the project. */
function fileOf(block: ReadmeBlock): string {
  if (block.marker !== undefined) return path.join('marked', block.marker);
  const named = /^\/\/ ([\w-]+\.ts)\b/.exec(block.code)?.[1];
  return path.join('src', named ?? `${path.basename(block.page, '.md')}-line-${block.line}.ts`);
}

describe('the README and the docs pages', () => {
  const blocks = readmeTypeScriptBlocks();
  let dir: string;
  let diagnostics: Map<string, string[]>;

  beforeAll(() => {
    dir = tempDir();
    linkPackages(dir, ['class-validator', 'class-transformer', 'reflect-metadata', 'rxjs', '@types/node', '@types/aws-lambda', '@nestjs/common', '@nestjs/core', '@nestjs/terminus']);
    const files = blocks.map((block) => path.join(dir, fileOf(block)));
    for (const [i, file] of files.entries()) {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, (blocks[i] as ReadmeBlock).code);
    }
    // The README's own compiler settings; the blocks are checked, not emitted.
    const text = readmeBlock('tsconfig.json');
    const parsed = ts.parseConfigFileTextToJson('tsconfig.json', text);
    const { options, errors } = ts.convertCompilerOptionsFromJson((parsed.config as { compilerOptions: object }).compilerOptions, dir);
    expect(errors).toEqual([]);
    const program = ts.createProgram(files, { ...options, rootDir: dir, noEmit: true });
    diagnostics = new Map(files.map((file) => [file, []]));
    for (const d of ts.getPreEmitDiagnostics(program)) {
      const where = d.file ? d.file.fileName : 'project';
      const at = d.file && d.start !== undefined ? `${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: ` : '';
      const list = diagnostics.get(path.resolve(where)) ?? diagnostics.get(where) ?? [];
      list.push(`${at}TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
      diagnostics.set(path.resolve(where), list);
    }
  }, 120_000);

  afterAll(() => removeDir(dir));

  it('has TypeScript blocks to check', () => {
    expect(blocks.length).toBeGreaterThan(10);
  });

  it('gives every block a file of its own', () => {
    const files = blocks.map(fileOf);
    expect(files.filter((file, i) => files.indexOf(file) !== i)).toEqual([]);
  });

  it.each(blocks.map((block) => [block.page, block.line, fileOf(block), block]))('%s: block at line %i (%s) compiles as shown', (_page, _line, file) => {
    expect(diagnostics.get(path.join(dir, file))).toEqual([]);
  });

  it('has no errors outside the blocks', () => {
    const others = [...diagnostics].filter(([file]) => !blocks.some((block) => path.join(dir, fileOf(block)) === file));
    expect(others.flatMap(([, list]) => list)).toEqual([]);
  });
});
