// A real OCI registry for tests: Debian's docker-registry (distribution 2.x)
// serving a temp directory on 127.0.0.1, without auth, with htpasswd (Basic)
// or with token auth (Bearer, realm = a TokenServer). Missing tools fail the
// test with the install line; nothing is skipped silently.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tempDir } from './tmp.ts';

export const REGISTRY_TOOLS = ['docker-registry', 'skopeo', 'umoci', 'htpasswd', 'openssl'];

/** Throws, naming the install command, unless every tool the registry tests use is on PATH. */
export function requireRegistryTools(): void {
  const missing = REGISTRY_TOOLS.filter((t) => {
    try {
      execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    throw new Error(
      `registry tests need ${missing.join(', ')}: run \`apt-get install docker-registry skopeo umoci apache2-utils openssl\` (CI installs them in .ci/run)`
    );
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export type RegistryAuth =
  | { kind: 'none' }
  | { kind: 'htpasswd'; users: Record<string, string> }
  | { kind: 'token'; realm: string; service: string; issuer: string; certPath: string };

export class LocalRegistry {
  readonly host: string;
  readonly root: string;
  readonly port: number;
  private child: ChildProcess | undefined;
  private log = '';
  private readonly configPath: string;

  private constructor(port: number, root: string, configPath: string) {
    this.port = port;
    this.host = `127.0.0.1:${port}`;
    this.root = root;
    this.configPath = configPath;
  }

  /** Starts a registry; `storage` shares image data with another registry (push once, serve twice). */
  static async start(
    auth: RegistryAuth = { kind: 'none' },
    storage?: string
  ): Promise<LocalRegistry> {
    requireRegistryTools();
    const dir = tempDir('qg-registry-');
    const root = storage ?? join(dir, 'storage');
    mkdirSync(root, { recursive: true });
    const port = await freePort();
    const lines = [
      'version: 0.1',
      'log:',
      '  level: warn',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${root}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`
    ];
    if (auth.kind === 'htpasswd') {
      const file = join(dir, 'htpasswd');
      writeFileSync(
        file,
        Object.entries(auth.users)
          .map(([u, p]) => execFileSync('htpasswd', ['-Bbn', u, p], { encoding: 'utf8' }).trim())
          .join('\n') + '\n'
      );
      lines.push('auth:', '  htpasswd:', '    realm: qg-test', `    path: ${file}`);
    } else if (auth.kind === 'token') {
      lines.push(
        'auth:',
        '  token:',
        `    realm: ${auth.realm}`,
        `    service: ${auth.service}`,
        `    issuer: ${auth.issuer}`,
        `    rootcertbundle: ${auth.certPath}`
      );
    }
    const configPath = join(dir, 'config.yml');
    writeFileSync(configPath, `${lines.join('\n')}\n`);
    const reg = new LocalRegistry(port, root, configPath);
    await reg.restart();
    return reg;
  }

  /** (Re)starts the process on the same port and storage, and waits until /v2/ answers. */
  async restart(): Promise<void> {
    if (this.child) throw new Error('registry already running');
    const child = spawn('docker-registry', ['serve', this.configPath], {
      stdio: ['ignore', 'pipe', 'pipe']
    });
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => (this.log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`docker-registry exited: ${this.log}`);
      try {
        const r = await fetch(`http://${this.host}/v2/`);
        if (r.status === 200 || r.status === 401) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`docker-registry did not answer: ${this.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  logText(): string {
    return this.log;
  }
}
