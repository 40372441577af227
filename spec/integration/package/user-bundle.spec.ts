// An application bundled whole with esbuild, plugwire and its peers inside (esbuild's
// default, and what AWS CDK's NodejsFunction does for Lambda): a host and a plugin with a
// nested DTO (`@ValidateNested() @Type(() => Address)`), bundled from a project whose
// node_modules/plugwire is this repository (its built dist/, as the package ships it), run
// beside that node_modules and alone in an empty directory, as in a Lambda zip. plugwire
// must use the copies of class-transformer and class-validator bundled with it, the ones
// the DTOs' decorators registered into, not another copy from node_modules nor none, and
// the metadata storage of the same build of class-transformer (without it, a DTO whose
// fields are all strings is copied as if it had no @Transform).
import { cpSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { removeDir, tempDir } from '../../support/host-helpers';
import { linkPackages, ROOT } from '../../support/readme';
import { run } from './npm-helpers';

const ESBUILD = path.join(ROOT, 'node_modules/.bin/esbuild');

const FILES: Record<string, string> = {
  'package.json': '{ "name": "bundled-app", "version": "1.0.0", "private": true }\n',
  // esbuild reads the decorator settings here; it emits no decorator metadata whatever they are.
  'tsconfig.json': JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'nodenext', strict: true, experimentalDecorators: true, useDefineForClassFields: false } }),
  'src/contract.ts': `import { Transform, Type } from 'class-transformer';
import { IsString, ValidateNested } from 'class-validator';
import { Method, Plugin, stub } from 'plugwire';

export class Address {
  @IsString() city!: string;
}

export class Person {
  @IsString() name!: string;
  @ValidateNested() @Type(() => Address) address!: Address;
}

export class Shout {
  @IsString() @Transform(({ value }) => String(value).toUpperCase()) word!: string;
}

@Plugin('greeter')
export class Greeter {
  // esbuild emits no decorator metadata: the parameter's class is named here.
  @Method('/greet', { params: [Person] })
  greet(person: Person): Promise<string> { return stub(person); }

  @Method('/shout', { params: [Shout] })
  shout(shout: Shout): Promise<string> { return stub(shout); }
}
`,
  'src/plugin.ts': `import { serve } from 'plugwire';
import { Address, Greeter, Person, Shout } from './contract';

class GreeterPlugin extends Greeter {
  override async greet(person: Person): Promise<string> {
    return \`hello \${person.name} of \${person.address.city} (\${person.address instanceof Address ? 'an Address' : 'a plain object'})\`;
  }

  override async shout(shout: Shout): Promise<string> {
    return shout.word;
  }
}

void serve(new GreeterPlugin());
`,
  // The plugin is the file beside the host's, of the same extension (no __dirname in an ES module).
  'src/host.ts': `import { connect, PluginError, spawnCommand } from 'plugwire';
import { Greeter } from './contract';

async function main(): Promise<void> {
  const { plugin, close } = await connect(Greeter, spawnCommand(process.execPath, [process.argv[1]!.replace(/host(\\.m?js)$/, 'plugin$1')]));
  try {
    console.log(await plugin.greet({ name: 'Ada', address: { city: 'London' } }));
    console.log(await plugin.shout({ word: 'hi' }));
    await plugin.greet({ name: 'Bob', address: { city: 5 } } as never); // refused by the host, never sent
  } catch (error) {
    if (!PluginError.is(error, 'PLUGWIRE_VALIDATION')) throw error;
    console.log(\`refused: \${error.message}\`);
  } finally {
    await close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
`,
};

const EXPECTED = 'hello Ada of London (an Address)\nHI\nrefused: invalid payload for /greet: address.city: city must be a string\n';

/** An ES module bundle needs a real require() for the CommonJS it holds (plugwire's own, undici's) to load Node.js's modules. */
const ESM_REQUIRE = "--banner:js=import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);";

const BUNDLES: readonly (readonly [string, readonly string[]])[] = [
  ['CommonJS', ['--format=cjs']],
  ['CommonJS, minified', ['--format=cjs', '--minify']],
  ['CommonJS, with the ES builds of class-transformer (module before main)', ['--format=cjs', '--main-fields=module,main']],
  ['an ES module with a require() of its own', ['--format=esm', '--out-extension:.js=.mjs', ESM_REQUIRE]],
  ['an ES module with a require() of its own, minified', ['--format=esm', '--out-extension:.js=.mjs', '--minify', ESM_REQUIRE]],
];

let work: string | undefined;
let project: string;

beforeAll(() => {
  work = tempDir();
  project = path.join(work, 'project');
  for (const [file, text] of Object.entries(FILES)) {
    mkdirSync(path.dirname(path.join(project, file)), { recursive: true });
    writeFileSync(path.join(project, file), text);
  }
  linkPackages(project, ['class-transformer', 'class-validator']);
});

afterAll(() => removeDir(work));

describe.each(BUNDLES.map(([label, options], i) => [label, options, i] as const))('a whole application bundled by esbuild as %s', (_label, options, i) => {
  let out: string;
  let host: string;

  beforeAll(async () => {
    out = path.join(project, `out-${i}`);
    await run(ESBUILD, ['src/host.ts', 'src/plugin.ts', '--bundle', '--platform=node', `--outdir=${out}`, '--log-level=error', ...options], project, 60_000);
    host = readdirSync(out).find((file) => file.startsWith('host.')) as string;
  }, 60_000);

  it('converts and validates its DTOs (nested, with @Type; with @Transform) with the bundled copies, node_modules beside the bundle', async () => {
    const { stdout, stderr } = await run(process.execPath, [path.join(out, host)], project, 30_000);
    expect(stdout).toBe(EXPECTED);
    expect(stderr).toBe('');
  });

  it('converts and validates its DTOs the same with the bundle alone in an empty directory (a Lambda zip)', async () => {
    const alone = path.join(work as string, `alone-${i}`);
    cpSync(out, alone, { recursive: true });
    // Nothing to load from around it: no node_modules in the directory nor above.
    await expect(run(process.execPath, ['-e', "require.resolve('class-transformer')"], alone, 30_000)).rejects.toThrow(/Cannot find module 'class-transformer'/);
    const { stdout, stderr } = await run(process.execPath, [path.join(alone, host)], alone, 30_000);
    expect(stdout).toBe(EXPECTED);
    expect(stderr).toBe('');
  });
});
