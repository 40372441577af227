// The Kubernetes sample checked without a cluster or a Docker engine: the manifest against
// Kubernetes' own schemas (kubernetes-models) and against the code (the same paths and
// variables as samples/kubernetes/paths.ts, a probe command the plugwire command accepts),
// the Dockerfiles as Docker reads them (dockerfile-ast: stages, user, what the final stage
// copies), and the pod played locally: each container's command from its image's final
// stage, run from the files that stage copies, with the manifest's environment and its paths
// mapped into a temporary directory.
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import * as path from 'node:path';
import { Copy, DockerfileParser, type Instruction } from 'dockerfile-ast';
import { parseAllDocuments } from 'yaml';
import { SOCKET_ENV, TOKEN_FILE_ENV } from 'plugwire';
import { EXIT_CODES } from '../../../lib/cli/exit-codes';
import { DEFAULT_PORT, DEFAULT_SOCKET, DEFAULT_TOKEN_FILE, PORT_ENV, podSettings } from '../../../samples/kubernetes/paths';
import { fixture, pidAlive, removeDir, spawnNode, tempDir, waitFor, within, type Spawned } from '../../support/host-helpers';

const ROOT = path.join(__dirname, '../../..');
const SAMPLE = path.join(ROOT, 'samples/kubernetes');

// ---------------------------------------------------------------------------------------
// The manifest

/** What these checks read of a container (kubernetes-models validates the rest). */
interface Container {
  name: string;
  image: string;
  restartPolicy?: string;
  command?: string[];
  env?: { name: string; value?: string }[];
  ports?: { name?: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[] };
  };
}
interface Probe {
  exec?: { command: string[] };
  httpGet?: { path: string; port: string | number };
}
interface Volume {
  name: string;
  emptyDir?: object;
  secret?: { secretName: string; items?: { key: string; path: string }[] };
}
interface PodSpec {
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; fsGroup?: number };
  initContainers?: Container[];
  containers: Container[];
  volumes: Volume[];
}
interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: Record<string, unknown>;
}

const MANIFEST_TEXT = readFileSync(path.join(SAMPLE, 'deployment.yaml'), 'utf8');

/** Every document of a YAML file as plain objects, failing on a document that does not parse. */
function documents(text: string, version: '1.1' | '1.2'): KubeObject[] {
  return parseAllDocuments(text, { version }).map((document) => {
    expect(document.errors).toEqual([]);
    return document.toJS() as KubeObject;
  });
}

const OBJECTS = documents(MANIFEST_TEXT, '1.2');
const DEPLOYMENT = OBJECTS.find((o) => o.kind === 'Deployment') as KubeObject;
const POD = (DEPLOYMENT.spec as { template: { spec: PodSpec } }).template.spec;
const PLUGIN = POD.initContainers?.[0] as Container;
const HOST = POD.containers[0] as Container;

/**
 * Each object validated by the kubernetes-models class of its apiVersion and kind
 * (`new Deployment(object).validate()`): its errors, none when valid. In a process of its
 * own: kubernetes-models is an ES module only, which jest's CommonJS modules cannot load.
 */
function validate(objects: readonly object[]): { kind: string; name: string; errors: string[] }[] {
  const run = spawnSync(process.execPath, [fixture('kubernetes/validate-manifest')], { input: JSON.stringify(objects), encoding: 'utf8', timeout: 20_000 });
  if (run.status !== 0) throw new Error(`validate-manifest failed (${run.status ?? run.signal}): ${run.stderr}`);
  return JSON.parse(run.stdout) as { kind: string; name: string; errors: string[] }[];
}

function envOf(container: Container): Record<string, string> {
  return Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? '']));
}

/** The volume mounted at a path in a container. */
function volumeAt(container: Container, mountPath: string): { volume: Volume | undefined; readOnly: boolean } {
  const mount = container.volumeMounts?.find((m) => m.mountPath === mountPath);
  return { volume: POD.volumes.find((v) => v.name === mount?.name), readOnly: mount?.readOnly === true };
}

/** The value after an option in a command line. */
function optionOf(command: readonly string[], option: string): string | undefined {
  const at = command.indexOf(option);
  return at < 0 ? undefined : command[at + 1];
}

describe('samples/kubernetes/deployment.yaml', () => {
  it('reads the same as YAML 1.1 (kubectl) and as YAML 1.2', () => {
    expect(documents(MANIFEST_TEXT, '1.1')).toEqual(OBJECTS);
  });

  it("is valid for Kubernetes' own schemas, every document (kubernetes-models)", () => {
    const results = validate(OBJECTS);
    expect(results.map((r) => `${r.kind} ${r.name}`)).toEqual(['Deployment modifier', 'Service modifier']);
    expect(results.flatMap((r) => r.errors)).toEqual([]);
  });

  it('fails that validation when a field is broken: the check is live', () => {
    const broken = (change: (pod: PodSpec) => void): KubeObject => {
      const copy = structuredClone(DEPLOYMENT);
      change((copy.spec as { template: { spec: PodSpec } }).template.spec);
      return copy;
    };
    const results = validate([
      broken((pod) => ((pod.securityContext as { runAsUser: unknown }).runAsUser = '65532')),
      broken((pod) => delete (pod.containers[0] as Partial<Container>).name),
      broken((pod) => ((pod.initContainers?.[0]?.startupProbe?.exec as { command: unknown }).command = '/nodejs/bin/node health')),
      { ...OBJECTS[1], apiVersion: 'v1', kind: 'Servise' },
    ]);
    expect(results.map((r) => r.errors)).toEqual([
      ['/spec/template/spec/securityContext/runAsUser must be integer'],
      ['/spec/template/spec/containers/0 must have required property name'],
      [expect.stringMatching(/^\/spec\/template\/spec\/initContainers\/0\/startupProbe\/exec\/command must be array/)],
      ['no kubernetes-models class for v1 Servise'],
    ]);
  });

  it('runs the plugin as a native sidecar: an init container that is always restarted, which the host waits for', () => {
    expect(POD.initContainers).toHaveLength(1);
    expect(PLUGIN.restartPolicy).toBe('Always');
    expect(PLUGIN.startupProbe?.exec).toBeDefined();
    expect(POD.containers.map((c) => c.name)).toEqual(['host']);
  });

  it('gives both containers the socket path of paths.ts, in an emptyDir mounted at its directory', () => {
    for (const container of [PLUGIN, HOST]) {
      expect(envOf(container)[SOCKET_ENV]).toBe(DEFAULT_SOCKET);
      const { volume, readOnly } = volumeAt(container, path.posix.dirname(DEFAULT_SOCKET));
      expect(volume?.emptyDir).toBeDefined();
      expect(readOnly).toBe(false);
    }
  });

  it('gives both containers the token file of paths.ts, the Secret mounted read-only at its directory', () => {
    for (const container of [PLUGIN, HOST]) {
      expect(envOf(container)[TOKEN_FILE_ENV]).toBe(DEFAULT_TOKEN_FILE);
      const { volume, readOnly } = volumeAt(container, path.posix.dirname(DEFAULT_TOKEN_FILE));
      expect(volume?.secret?.items).toEqual([{ key: 'token', path: path.posix.basename(DEFAULT_TOKEN_FILE) }]);
      expect(readOnly).toBe(true);
    }
  });

  it("sets only what paths.ts reads, to its defaults, and the host's port is the one it serves and the Service targets", () => {
    expect(podSettings(envOf(PLUGIN))).toEqual(podSettings({}));
    expect(podSettings(envOf(HOST))).toEqual(podSettings({}));
    expect(Object.keys(envOf(HOST)).sort()).toEqual([PORT_ENV, SOCKET_ENV, TOKEN_FILE_ENV].sort());
    expect(HOST.ports).toEqual([{ name: 'http', containerPort: DEFAULT_PORT }]);
    const service = OBJECTS.find((o) => o.kind === 'Service') as KubeObject;
    expect(service.spec.ports).toEqual([expect.objectContaining({ targetPort: 'http' })]);
    expect(service.spec.selector).toEqual((DEPLOYMENT.spec as { selector: { matchLabels: object } }).selector.matchLabels);
  });

  it("probes the plugin with the plugwire command of the plugin image, on the socket and the token file of the pod", () => {
    const command = PLUGIN.livenessProbe?.exec?.command as string[];
    expect(PLUGIN.startupProbe?.exec?.command).toEqual(command);
    expect(PLUGIN.readinessProbe?.exec?.command).toEqual(command);
    const image = finalStage('plugin');
    const bin = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: { plugwire: string } }).bin.plugwire;
    expect(command.slice(0, 3)).toEqual([image.entrypoint[0], path.posix.join(image.workdir, bin), 'health']);
    expect(optionOf(command, '--socket')).toBe(DEFAULT_SOCKET);
    expect(optionOf(command, '--token-file')).toBe(DEFAULT_TOKEN_FILE);
  });

  it("probes the host at its own /healthz, on the port it serves", () => {
    for (const probe of [HOST.livenessProbe, HOST.readinessProbe]) expect(probe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
  });

  it.each([
    ['plugin', () => PLUGIN],
    ['host', () => HOST],
  ] as const)("locks the %s container down, as the same user as its image's USER", (image, container) => {
    const { securityContext, resources } = container();
    expect(securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: finalStage(image).uid,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(POD.securityContext).toEqual(expect.objectContaining({ runAsNonRoot: true, runAsUser: finalStage(image).uid }));
    expect(resources?.requests).toEqual(expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }));
    expect(resources?.limits?.memory).toEqual(expect.any(String));
  });
});

// ---------------------------------------------------------------------------------------
// The Dockerfiles

type ImageName = 'plugin' | 'host';

/** A build stage: its name, base image and instructions. */
interface Stage {
  readonly name: string | undefined;
  readonly image: string;
  readonly instructions: Instruction[];
}

/** What the final stage of an image makes. */
interface FinalStage {
  readonly stages: Stage[];
  readonly workdir: string;
  readonly uid: number | undefined;
  readonly entrypoint: string[];
  readonly cmd: string[];
  /** What each `COPY --from` takes: the stage, its path there, and where it goes. */
  readonly copies: { from: string; source: string; target: string }[];
}

function stagesOf(image: ImageName): Stage[] {
  const dockerfile = DockerfileParser.parse(readFileSync(path.join(SAMPLE, `Dockerfile.${image}`), 'utf8'));
  const stages: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const words = instruction.getArguments().map((a) => a.getValue());
      stages.push({ name: words[1]?.toUpperCase() === 'AS' ? words[2] : undefined, image: words[0] as string, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

function words(instruction: Instruction): string[] {
  return instruction.getArguments().map((a) => a.getValue());
}

/** The exec form of CMD or ENTRYPOINT: its JSON strings. */
function execForm(instruction: Instruction | undefined): string[] {
  const text = instruction?.getArgumentsContent() ?? '';
  const list = JSON.parse(text) as unknown;
  if (!Array.isArray(list)) throw new Error(`not the exec form: ${text}`);
  return list as string[];
}

/** The working directory a stage ends with. */
function workdirOf(stage: Stage): string {
  return stage.instructions.filter((i) => i.getKeyword() === 'WORKDIR').reduce((dir, i) => path.posix.resolve(dir, words(i)[0] as string), '/');
}

function finalStage(image: ImageName): FinalStage {
  const stages = stagesOf(image);
  const last = stages.at(-1) as Stage;
  const of = (keyword: string): Instruction[] => last.instructions.filter((i) => i.getKeyword() === keyword);
  const user = of('USER').at(-1);
  const workdir = workdirOf(last);
  const copies = of('COPY').flatMap((copy) => {
    const flag = fromStage(copy);
    if (flag === undefined) return [];
    const paths = words(copy);
    const target = path.posix.resolve(workdir, paths.at(-1) as string);
    return paths.slice(0, -1).map((source) => ({ from: flag, source, target: target.endsWith('/') || paths.at(-1)?.endsWith('/') ? path.posix.join(target, path.posix.basename(source)) : target }));
  });
  const uid = user === undefined ? undefined : Number(words(user)[0]?.split(':')[0]);
  return { stages, workdir, uid, entrypoint: execForm(of('ENTRYPOINT').at(-1)), cmd: execForm(of('CMD').at(-1)), copies };
}

/** The stage a COPY takes its files from (`--from=`), or undefined for the build context. */
function fromStage(instruction: Instruction): string | undefined {
  return instruction instanceof Copy ? (instruction.getFromFlag()?.getValue() ?? undefined) : undefined;
}

/** The RUN commands of a stage, as written. */
function runsOf(stage: Stage | undefined): string[] {
  return (stage?.instructions ?? []).filter((i) => i.getKeyword() === 'RUN').map((i) => i.getArgumentsContent() ?? '');
}

describe.each(['plugin', 'host'] as const)('samples/kubernetes/Dockerfile.%s', (image) => {
  const final = finalStage(image);
  const byName = (name: string): Stage | undefined => final.stages.find((s) => s.name === name);

  it('builds in stages and runs as a numeric user that is not root, the same in both images', () => {
    expect(final.stages.length).toBeGreaterThanOrEqual(2);
    expect(final.uid).toEqual(expect.any(Number));
    expect(final.uid).toBeGreaterThan(0);
    expect(final.uid).toBe(finalStage(image === 'plugin' ? 'host' : 'plugin').uid);
  });

  it('runs from a base without npm or a shell, not the build stage', () => {
    const last = final.stages.at(-1) as Stage;
    expect(last.image).toMatch(/^gcr\.io\/distroless\/nodejs\d+-debian\d+:nonroot$/);
    expect(final.stages.slice(0, -1).every((s) => s.image !== last.image)).toBe(true);
  });

  it('copies into the final stage only what its earlier stages make: the build (npm run build), and the production dependencies (npm ci --omit=dev)', () => {
    expect(final.copies.length).toBeGreaterThan(0);
    for (const copy of final.copies) {
      const stage = byName(copy.from);
      expect(stage).toBeDefined();
      const inStage = path.posix.relative(workdirOf(stage as Stage), copy.source);
      expect(inStage.startsWith('..')).toBe(false);
      if (inStage === 'node_modules') {
        // no dev dependencies: the only node_modules is that of a production install
        expect(runsOf(stage)).toContainEqual(expect.stringMatching(/^npm ci --omit=dev\b/));
      } else if (inStage.startsWith('dist/')) {
        expect(runsOf(stage)).toContain('npm run build');
        expect([inStage, existsSync(path.join(ROOT, inStage))]).toEqual([inStage, true]);
      } else {
        // a file of the build context, copied into that stage
        const copied = (stage as Stage).instructions.filter((i) => i.getKeyword() === 'COPY').flatMap((i) => words(i).slice(0, -1));
        expect(copied).toContain(inStage);
      }
    }
  });

  it('builds from files of the repository that its .dockerignore lets into the context', () => {
    const allowed = readFileSync(path.join(SAMPLE, `Dockerfile.${image}.dockerignore`), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('!'))
      .map((line) => line.slice(1));
    const fromContext = final.stages.flatMap((s) =>
      s.instructions.filter((i) => i.getKeyword() === 'COPY' && fromStage(i) === undefined).flatMap((i) => words(i).slice(0, -1)),
    );
    expect(fromContext.length).toBeGreaterThan(0);
    for (const source of fromContext) {
      expect([source, existsSync(path.join(ROOT, source)), allowed.includes(source)]).toEqual([source, true, true]);
    }
  });

  it(`starts dist/samples/kubernetes/${image}.js with Node.js, a file the final stage copies`, () => {
    expect(final.entrypoint).toEqual(['/nodejs/bin/node']);
    expect(final.cmd).toEqual([path.posix.join(final.workdir, `dist/samples/kubernetes/${image}.js`)]);
    expect(final.copies.some((c) => final.cmd[0]?.startsWith(`${c.target}/`) || final.cmd[0] === c.target)).toBe(true);
    expect(existsSync(path.join(ROOT, path.posix.relative(final.workdir, final.cmd[0] as string)))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------
// The pod, played locally

/** A GET to the host: its status and text. */
function get(port: number, urlPath: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: urlPath, agent: false, headers: { connection: 'close' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The pids whose parent is `pid` (none known without procfs). */
function childrenOf(pid: number): number[] {
  if (!existsSync('/proc/self/stat')) return [];
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

describe('the pod, run locally as the kubelet runs it', () => {
  /** Where the pod's absolute paths (the volumes) are, and each image's files. */
  let root: string;
  const running = new Set<Spawned>();

  /** An image's final stage laid out under root/<image>: its `COPY --from` files, from this repository's build. */
  function layOut(image: ImageName): void {
    for (const copy of finalStage(image).copies) {
      const from = path.join(ROOT, path.posix.relative(workdirOf(finalStage(image).stages.find((s) => s.name === copy.from) as Stage), copy.source));
      const to = path.join(root, image, copy.target);
      mkdirSync(path.dirname(to), { recursive: true });
      // The production install of the same lock file is a subset of the repository's.
      if (path.basename(from) === 'node_modules') symlinkSync(from, to);
      else cpSync(from, to, { recursive: true });
    }
  }

  /** A path of the pod (a volume) or of an image (under its working directory), here. */
  function here(image: ImageName, file: string): string {
    if (file === finalStage(image).entrypoint[0]) return process.execPath;
    if (file.startsWith(`${finalStage(image).workdir}/`)) return path.join(root, image, file);
    return path.isAbsolute(file) ? path.join(root, 'pod', file) : file;
  }

  /** Starts a container: its image's entry point and command, the manifest's environment. */
  function startContainer(image: ImageName): Spawned {
    const container = image === 'plugin' ? PLUGIN : HOST;
    const { entrypoint, cmd } = finalStage(image);
    const env = Object.fromEntries(Object.entries(envOf(container)).map(([name, value]) => [name, name === PORT_ENV ? '0' : here(image, value)]));
    const started = spawnNode([...entrypoint.slice(1), ...cmd].map((arg) => here(image, arg)), { ...env, NODE_ENV: 'production' });
    running.add(started);
    void started.exited.then(() => running.delete(started));
    return started;
  }

  /** Runs the plugin's exec probe (with another token file, if given): its exit status. */
  function probe(tokenFile?: string): Promise<number> {
    const line = PLUGIN.livenessProbe?.exec?.command as string[];
    const [command, ...args] = line.map((arg, i) => (tokenFile !== undefined && line[i - 1] === '--token-file' ? tokenFile : here('plugin', arg)));
    return new Promise((resolve) => {
      const child = execFile(command as string, args, { timeout: 10_000 }, () => undefined);
      child.once('exit', (code) => resolve(code ?? -1));
    });
  }

  let host: Spawned;
  let plugin: Spawned;
  let port: number;

  beforeAll(() => {
    root = tempDir();
    layOut('plugin');
    layOut('host');
    // The Secret's file; its directory is mounted, the socket's (an emptyDir) is made below.
    const tokenFile = here('plugin', DEFAULT_TOKEN_FILE);
    mkdirSync(path.dirname(tokenFile), { recursive: true });
    writeFileSync(tokenFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o440 });
  });

  afterAll(async () => {
    for (const started of running) started.child.kill('SIGKILL');
    await Promise.all([...running].map((started) => started.exited));
    removeDir(root);
  });

  it('waits in the host for the plugin started after it, then answers through it', async () => {
    host = startContainer('host');
    // The host's start makes the socket's directory (a pod's emptyDir is there already) and
    // then waits for the socket: the plugin is started only once it waits.
    const socketDir = path.dirname(here('host', DEFAULT_SOCKET));
    await waitFor(() => existsSync(socketDir), 10_000, 'the host to make the socket directory');
    expect(host.lines).toEqual([]);
    plugin = startContainer('plugin');
    const listening = await within(host.line(/^host listening on port \d+$/), 10_000, 'the host to listen').catch((error: Error) => {
      throw new Error(`${error.message}\nhost: ${host.stderr()}\nplugin: ${plugin.stderr()}`);
    });
    port = Number(listening.split(' ').at(-1));
    await expect(get(port, '/modify?value=pod')).resolves.toEqual({ status: 200, text: 'pod decorated' });
    await expect(get(port, '/healthz')).resolves.toEqual({ status: 200, text: 'ok\n' });
  });

  it('answers again when the plugin was killed and its container started again, the host not restarted and spawning nothing', async () => {
    plugin.child.kill('SIGKILL');
    await plugin.exited;
    // A call while the plugin is down waits for the one the kubelet starts.
    const during = get(port, '/modify?value=during');
    plugin = startContainer('plugin');
    await expect(within(during, 15_000, 'the call made while the plugin was down')).resolves.toEqual({ status: 200, text: 'during decorated' });
    await expect(get(port, '/modify?value=after')).resolves.toEqual({ status: 200, text: 'after decorated' });
    expect(pidAlive(host.child.pid as number)).toBe(true);
    expect(childrenOf(host.child.pid as number)).toEqual([]);
    expect(host.stderr()).toBe('');
  });

  it("passes the plugin's exec probe while it runs, and fails it with a wrong token", async () => {
    await expect(probe()).resolves.toBe(0);
    const wrong = path.join(root, 'wrong-token');
    writeFileSync(wrong, 'not-the-token\n');
    await expect(probe(wrong)).resolves.toBe(EXIT_CODES.PLUGWIRE_PROTOCOL);
  });

  it('stops as the pod ends, the host on SIGTERM and then the plugin, leaving nothing behind', async () => {
    host.child.kill('SIGTERM');
    await expect(within(host.exited, 10_000, 'the host to exit')).resolves.toEqual({ code: 0, signal: null });
    plugin.child.kill('SIGTERM');
    await expect(within(plugin.exited, 10_000, 'the plugin to exit')).resolves.toEqual({ code: 0, signal: null });
    expect(readdirSync(path.dirname(here('host', DEFAULT_SOCKET)))).toEqual([]);
  });

  it("fails the plugin's exec probe once its container stopped", async () => {
    // Nothing listens: PLUGWIRE_START's status (any status but 0 fails a probe).
    await expect(probe()).resolves.toBe(EXIT_CODES.PLUGWIRE_START);
  });
});
