// The TypeScript blocks of the README and the docs pages in an ES-module project ("type": "module" in its
// package.json, the README's tsconfig.json): the README says the same files work as
// CommonJS and as ES modules, with relative imports that name the compiled file
// (`./contract.js`). Without the extension, TypeScript refuses the import in an ES module
// (TS2835 "Relative import paths need explicit file extensions"), so a reader who copies a
// page's host into such a project gets an error the page does not show. The blocks are put
// where readme-snippets.spec.ts puts them (a `// name.ts` block is that file in src/).
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type * as TypeScript from 'typescript';
import { removeDir, tempDir } from '../../support/host-helpers';
import { linkPackages, readmeBlock, readmeTypeScriptBlocks, type ReadmeBlock } from '../../support/readme';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only by this spec
const ts = require('typescript') as typeof TypeScript;

/** What TypeScript says of a relative import without its extension in an ES module. */
const NO_EXTENSION = new Set([2834, 2835]);

/** Where a block goes in the project, as in readme-snippets.spec.ts. */
function fileOf(block: ReadmeBlock): string {
  if (block.marker !== undefined) return path.join('marked', block.marker);
  const named = /^\/\/ ([\w-]+\.ts)\b/.exec(block.code)?.[1];
  return path.join('src', named ?? `${path.basename(block.page, '.md')}-line-${block.line}.ts`);
}

describe('the README and the docs pages in an ES-module project', () => {
  const blocks = readmeTypeScriptBlocks();
  const checked = blocks.filter((block) => block.page.startsWith('docs/') || block.page === 'README.md');
  let dir: string;
  let missing: Map<string, string[]>;

  beforeAll(() => {
    dir = tempDir();
    linkPackages(dir, ['class-validator', 'class-transformer', 'reflect-metadata', 'rxjs', '@types/node', '@types/aws-lambda', '@nestjs/common', '@nestjs/core', '@nestjs/terminus']);
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'docs-esm', private: true, type: 'module' }));
    const files = blocks.map((block) => path.join(dir, fileOf(block)));
    for (const [i, file] of files.entries()) {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, (blocks[i] as ReadmeBlock).code);
    }
    const parsed = ts.parseConfigFileTextToJson('tsconfig.json', readmeBlock('tsconfig.json'));
    const { options, errors } = ts.convertCompilerOptionsFromJson((parsed.config as { compilerOptions: object }).compilerOptions, dir);
    expect(errors).toEqual([]);
    const program = ts.createProgram(files, { ...options, rootDir: dir, noEmit: true });
    missing = new Map();
    for (const d of ts.getPreEmitDiagnostics(program)) {
      if (!d.file || d.start === undefined || !NO_EXTENSION.has(d.code)) continue;
      const file = path.resolve(d.file.fileName);
      missing.set(file, [...(missing.get(file) ?? []), `${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`]);
    }
  }, 120_000);

  afterAll(() => removeDir(dir));

  it('has blocks with relative imports to check', () => {
    expect(checked.filter((block) => /from '\.\//.test(block.code)).length).toBeGreaterThan(10);
  });

  it.each(checked.map((block) => [block.page, block.line, fileOf(block)]))('%s: block at line %i (%s) names the compiled file in its relative imports', (_page, _line, file) => {
    expect(missing.get(path.join(dir, file)) ?? []).toEqual([]);
  });
});
