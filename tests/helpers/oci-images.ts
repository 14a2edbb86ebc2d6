// Container images built without a Docker engine: umoci writes labelled
// images (no layers) into an OCI layout, an index over several of them is
// assembled by hand, and skopeo pushes them to a registry, as OCI or as
// Docker v2 schema 2 (manifest list for an index).
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './tmp.ts';

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

interface IndexEntry {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: PlatformSpec;
}

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}

export interface PushOptions {
  format?: 'oci' | 'v2s2';
  /** user:password for the destination; default anonymous. */
  creds?: string;
}

function skopeoArgs(dir: string, tag: string, dest: string, opts: PushOptions): string[] {
  const args = ['copy', '--quiet', '--multi-arch', 'all', '--dest-tls-verify=false'];
  if (opts.format) args.push('--format', opts.format);
  if (opts.creds) args.push('--dest-creds', opts.creds);
  else args.push('--dest-no-creds');
  return [...args, `oci:${dir}:${tag}`, `docker://${dest}`];
}

export class OciLayout {
  readonly dir: string;

  constructor() {
    this.dir = join(tempDir('qg-oci-'), 'layout');
    run('umoci', ['init', '--layout', this.dir]);
  }

  /** A layerless image at `tag`, with config labels, an architecture and manifest annotations. */
  image(
    tag: string,
    opts: {
      labels?: Record<string, string>;
      architecture?: string;
      annotations?: Record<string, string>;
    } = {}
  ): void {
    run('umoci', ['new', '--image', `${this.dir}:${tag}`]);
    const args = ['config', '--image', `${this.dir}:${tag}`];
    for (const [k, v] of Object.entries(opts.labels ?? {}))
      args.push('--config.label', `${k}=${v}`);
    for (const [k, v] of Object.entries(opts.annotations ?? {}))
      args.push('--manifest.annotation', `${k}=${v}`);
    if (opts.architecture) args.push('--architecture', opts.architecture);
    run('umoci', args);
  }

  private readIndex(): { schemaVersion: number; manifests: IndexEntry[] } {
    return JSON.parse(readFileSync(join(this.dir, 'index.json'), 'utf8'));
  }

  private entry(tag: string): IndexEntry {
    const e = this.readIndex().manifests.find(
      (m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag
    );
    if (!e) throw new Error(`no tag ${tag} in ${this.dir}`);
    return e;
  }

  /** Assembles an OCI image index at `tag` over images already in the layout, one per platform. */
  index(
    tag: string,
    members: { tag: string; platform: PlatformSpec }[],
    annotations: Record<string, string> = {}
  ): void {
    const manifests = members.map((m) => {
      const e = this.entry(m.tag);
      return { mediaType: e.mediaType, digest: e.digest, size: e.size, platform: m.platform };
    });
    const doc = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests,
      ...(Object.keys(annotations).length > 0 ? { annotations } : {})
    };
    const bytes = Buffer.from(JSON.stringify(doc));
    const hex = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(join(this.dir, 'blobs', 'sha256', hex), bytes);
    const idx = this.readIndex();
    idx.manifests.push({
      mediaType: doc.mediaType,
      digest: `sha256:${hex}`,
      size: bytes.length,
      annotations: { 'org.opencontainers.image.ref.name': tag }
    });
    writeFileSync(join(this.dir, 'index.json'), JSON.stringify(idx));
  }

  /** skopeo copy to docker://host/ref; v2s2 converts to Docker media types; every platform of an index. */
  push(tag: string, dest: string, opts: PushOptions = {}): void {
    run('skopeo', skopeoArgs(this.dir, tag, dest, opts));
  }

  /** push() without blocking the event loop: a token server in this process must keep answering while skopeo runs. */
  async pushAsync(tag: string, dest: string, opts: PushOptions = {}): Promise<void> {
    const args = skopeoArgs(this.dir, tag, dest, opts);
    await new Promise<void>((resolve, reject) => {
      execFile('skopeo', args, { timeout: 60_000 }, (err, _out, stderr) =>
        err
          ? reject(new Error(`skopeo ${args.join(' ')} failed: ${stderr || err.message}`))
          : resolve()
      );
    });
  }
}
