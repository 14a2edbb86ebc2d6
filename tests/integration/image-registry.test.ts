// The image-freshness gate against a REAL registry (Debian's docker-registry
// on 127.0.0.1) holding images built by umoci and pushed by skopeo, as OCI
// and as Docker v2 schema 2, single-platform and multi-platform, without auth,
// with htpasswd (Basic) and with token auth (Bearer, a local token service).
// Missing tools fail with the install line (tests/helpers/oci-registry.ts).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EventInfo, RunContext } from '../../packages/core/src/context.ts';
import { runGate } from '../../packages/core/src/gate.ts';
import { mapInputSource } from '../../packages/core/src/inputs.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import type { GateResult } from '../../packages/core/src/verdict.ts';
import { IMAGE_REPORT_FILE, imageFreshnessGate } from '../../packages/image/src/gate.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { OciLayout } from '../helpers/oci-images.ts';
import { LocalRegistry } from '../helpers/oci-registry.ts';
import { TokenServer } from '../helpers/registry-token-server.ts';
import { ROOT, giteaPullRequestEvent, runActionBundle } from '../helpers/runner.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

const LABEL = 'org.opencontainers.image.revision';
const SHA = '3f2c1a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39';
const OTHER = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const ARM = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

let registry: LocalRegistry;
let layout: OciLayout;

beforeAll(async () => {
  registry = await LocalRegistry.start();
  layout = new OciLayout();
  layout.image('fresh', { labels: { [LABEL]: SHA, 'org.opencontainers.image.title': 'app' } });
  layout.image('stale', { labels: { [LABEL]: OTHER } });
  layout.image('nolabel', { labels: { 'org.opencontainers.image.title': 'app' } });
  layout.image('short', { labels: { [LABEL]: SHA.slice(0, 12) } });
  layout.image('annotated', { annotations: { [LABEL]: SHA } });
  layout.image('amd', { labels: { [LABEL]: SHA } });
  layout.image('arm', { labels: { [LABEL]: ARM }, architecture: 'arm64' });
  layout.index('multi', [
    { tag: 'amd', platform: { os: 'linux', architecture: 'amd64' } },
    { tag: 'arm', platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }
  ]);
  layout.index(
    'unlabelled-index',
    [{ tag: 'nolabel', platform: { os: 'linux', architecture: 'amd64' } }],
    {
      [LABEL]: SHA
    }
  );
  const r = registry.host;
  for (const t of ['fresh', 'stale', 'nolabel', 'short', 'annotated', 'multi', 'unlabelled-index'])
    layout.push(t, `${r}/acme/app:${t}`);
  layout.push('fresh', `${r}/acme/app:fresh-docker`, { format: 'v2s2' });
  layout.push('multi', `${r}/acme/app:multi-docker`, { format: 'v2s2' });
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  cleanupTempDirs();
});

type Run = GateResult & { log: string; logger: RecordingLogger };

async function gate(
  inputs: Record<string, string>,
  opts: { workspace?: string; event?: EventInfo } = {}
): Promise<Run> {
  const logger = new RecordingLogger();
  const ctx: RunContext = {
    env: { ...process.env },
    workspace: opts.workspace ?? tempDir(),
    repository: 'acme/service',
    event: opts.event ?? { name: '' },
    logger,
    now: () => new Date()
  };
  const r = await runGate(
    imageFreshnessGate,
    mapInputSource({
      sha: SHA,
      'registry-insecure': 'true',
      'report-dir': join(tempDir(), 'reports'),
      ...inputs
    }),
    ctx
  );
  return { ...r, log: logger.text(), logger };
}

async function rawManifest(tag: string, accept: string): Promise<{ digest: string; type: string }> {
  const res = await fetch(`http://${registry.host}/v2/acme/app/manifests/${tag}`, {
    headers: { accept }
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  return {
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    type: res.headers.get('content-type') ?? ''
  };
}

describe('image-freshness gate: verdicts against a real registry', () => {
  it('passes a fresh OCI image in verify mode and records what it read', async () => {
    const r = await gate({ image: `${registry.host}/acme/app:fresh` });
    expect(r.verdict).toBe('PASS');
    const raw = await rawManifest('fresh', 'application/vnd.oci.image.manifest.v1+json');
    expect(raw.type).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(r.summary).toBe(
      `${registry.host}/acme/app:fresh (${raw.digest.slice(0, 19)}) is built from ${SHA}`
    );
    expect(r.frontmatter).toMatchObject({
      gate: 'image-freshness',
      image_status: 'PASS',
      head_sha: SHA,
      sha_source: 'input',
      image: `${registry.host}/acme/app:fresh`,
      digest: raw.digest,
      platform_digest: raw.digest,
      image_platform: 'linux/amd64',
      image_revision: SHA,
      revision_source: 'config-label',
      fresh: true,
      rebuild_needed: false,
      mode: 'verify',
      registry_reachable: true
    });
    const report = readFileSync(r.reportPath, 'utf8');
    expect(r.reportPath.endsWith(IMAGE_REPORT_FILE)).toBe(true);
    expect(report).toMatch(/^---\ngate: image-freshness\nimage_status: PASS\n/);
    expect(report).toContain('## Image freshness gate: PASS');
  });

  it('reads Docker v2 schema 2 manifests too (another digest, the same revision)', async () => {
    const r = await gate({ image: `${registry.host}/acme/app:fresh-docker` });
    expect(r.verdict).toBe('PASS');
    const raw = await rawManifest(
      'fresh-docker',
      'application/vnd.docker.distribution.manifest.v2+json'
    );
    expect(raw.type).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(r.frontmatter.digest).toBe(raw.digest);
    expect(r.frontmatter.image_revision).toBe(SHA);
  });

  it('fails a stale image in verify mode and passes it in plan mode with rebuild needed', async () => {
    const image = `${registry.host}/acme/app:stale`;
    const v = await gate({ image });
    expect(v.verdict).toBe('FAIL');
    expect(v.summary).toBe(`${image} is not built from ${SHA}: built from ${OTHER}, not ${SHA}`);
    expect(v.frontmatter).toMatchObject({
      fresh: false,
      rebuild_needed: true,
      image_revision: OTHER
    });
    expect(v.body).toContain(`docker build --label ${LABEL}=$GITHUB_SHA`);
    const p = await gate({ image, mode: 'plan' });
    expect(p.verdict).toBe('PASS');
    expect(p.summary).toBe(`rebuild needed: built from ${OTHER}, not ${SHA}`);
    expect(p.frontmatter).toMatchObject({ fresh: false, rebuild_needed: true, mode: 'plan' });
  });

  it('treats a missing tag or repository as absent: rebuild needed, not an error', async () => {
    for (const image of [
      `${registry.host}/acme/app:never-pushed`,
      `${registry.host}/acme/nothing:1`
    ]) {
      const p = await gate({ image, mode: 'plan' });
      expect(p.verdict).toBe('PASS');
      expect(p.summary).toBe(`rebuild needed: ${image} is not in the registry; build and push it`);
      expect(p.frontmatter).toMatchObject({
        image_present: false,
        digest: null,
        rebuild_needed: true,
        registry_reachable: true
      });
      expect(p.warnings).toEqual([]);
      const v = await gate({ image });
      expect(v.verdict).toBe('FAIL');
    }
  });

  it('is not fresh without the label, nor with a short sha that prefixes the gated one', async () => {
    const none = await gate({ image: `${registry.host}/acme/app:nolabel` });
    expect(none.verdict).toBe('FAIL');
    expect(none.summary).toMatch(
      /: the image has no org\.opencontainers\.image\.revision label or annotation, so nothing ties it to a commit$/
    );
    expect(none.frontmatter).toMatchObject({
      image_revision: null,
      revision_source: null,
      fresh: false
    });
    const short = await gate({ image: `${registry.host}/acme/app:short`, mode: 'plan' });
    expect(short.verdict).toBe('PASS');
    expect(short.frontmatter.rebuild_needed).toBe(true);
    expect(short.summary).toContain(
      `holds the short sha ${SHA.slice(0, 12)}, a prefix of ${SHA} but ambiguous`
    );
  });

  it('accepts the revision as a manifest or index annotation when the label is absent, and says so', async () => {
    const m = await gate({ image: `${registry.host}/acme/app:annotated` });
    expect(m.verdict).toBe('PASS');
    expect(m.frontmatter.revision_source).toBe('manifest-annotation');
    expect(m.summary).toMatch(/ \(from the manifest-annotation\)$/);
    const i = await gate({ image: `${registry.host}/acme/app:unlabelled-index` });
    expect(i.verdict).toBe('PASS');
    expect(i.frontmatter.revision_source).toBe('index-annotation');
  });

  it('honours a custom revision-label', async () => {
    const r = await gate({
      image: `${registry.host}/acme/app:fresh`,
      'revision-label': 'org.opencontainers.image.title'
    });
    expect(r.verdict).toBe('FAIL');
    expect(r.frontmatter.image_revision).toBe('app');
  });

  it.each(['multi', 'multi-docker'])(
    'follows the %s index to the platform asked for',
    async (tag) => {
      const image = `${registry.host}/acme/app:${tag}`;
      const amd = await gate({ image });
      expect(amd.verdict).toBe('PASS');
      expect(amd.frontmatter.image_platform).toBe('linux/amd64');
      const top = await rawManifest(
        tag,
        'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json'
      );
      expect(amd.frontmatter.digest).toBe(top.digest);
      expect(amd.frontmatter.platform_digest).not.toBe(top.digest);

      const arm = await gate({ image, platform: 'linux/arm64' });
      expect(arm.verdict).toBe('FAIL');
      expect(arm.frontmatter).toMatchObject({
        image_platform: 'linux/arm64/v8',
        image_revision: ARM
      });
      const armFresh = await gate({ image, platform: 'linux/arm64/v8', sha: ARM });
      expect(armFresh.verdict).toBe('PASS');

      const none = await gate({ image, platform: 'linux/s390x', mode: 'plan' });
      expect(none.verdict).toBe('PASS');
      expect(none.summary).toBe(
        `rebuild needed: ${image} has no linux/s390x image (the index offers: linux/amd64, linux/arm64/v8)`
      );
    }
  );

  it('pins by digest: the manifest is fetched by digest and verified', async () => {
    const raw = await rawManifest('fresh', 'application/vnd.oci.image.manifest.v1+json');
    const r = await gate({ image: `${registry.host}/acme/app@${raw.digest}` });
    expect(r.verdict).toBe('PASS');
    expect(r.frontmatter.digest).toBe(raw.digest);
  });

  it('warns when a single-platform image is not the platform asked for, and still reads it', async () => {
    const r = await gate({ image: `${registry.host}/acme/app:fresh`, platform: 'linux/arm64' });
    expect(r.verdict).toBe('PASS');
    expect(r.warnings[0]).toMatch(
      /is a single linux\/amd64 image, not linux\/arm64 \(input 'platform'\)/
    );
  });
});

describe('image-freshness gate: the gated sha', () => {
  it('defaults to git rev-parse HEAD in the workspace, else the pull request head sha', async () => {
    const repo = makeRepo();
    const head = repo.git('rev-parse', 'HEAD').trim();
    const l = new OciLayout();
    l.image('head', { labels: { [LABEL]: head } });
    l.push('head', `${registry.host}/acme/head:1`);
    const r = await gate(
      { image: `${registry.host}/acme/head:1`, sha: '' },
      { workspace: repo.work }
    );
    expect(r.verdict).toBe('PASS');
    expect(r.frontmatter).toMatchObject({ head_sha: head, sha_source: 'head' });
    const ev = await gate(
      { image: `${registry.host}/acme/head:1`, sha: '' },
      { workspace: repo.work, event: { name: 'pull_request', headSha: OTHER } }
    );
    expect(ev.verdict).toBe('FAIL');
    expect(ev.frontmatter).toMatchObject({ head_sha: OTHER, sha_source: 'event' });
  });

  it('fails with a configuration error outside a git checkout when no sha is given', async () => {
    const r = await gate({ image: `${registry.host}/acme/app:fresh`, sha: '' });
    expect(r.verdict).toBe('FAIL');
    expect(r.summary).toMatch(
      /^configuration error: input 'sha': expected the commit sha being gated: none given, the event has no pull request head sha, and \S+ has no git HEAD$/
    );
  });
});

describe('image-freshness gate: bad inputs are configuration errors', () => {
  it.each([
    [
      { mode: 'sideways' },
      `configuration error: input 'mode': expected one of plan | verify (got "sideways")`
    ],
    [
      { sha: 'abc' },
      `configuration error: input 'sha': expected the full 40-character hex commit sha being gated (got "abc")`
    ],
    [
      { sha: `${SHA};rm -rf /` },
      `configuration error: input 'sha': expected the full 40-character hex commit sha being gated (got "${SHA};rm -rf /")`
    ],
    [
      { image: '../../x' },
      `configuration error: input 'image': expected an image reference such as registry.example:5000/team/app:tag or team/app@sha256:<64 hex> (no scheme, lower-case path); '..' is not a registry host[:port] (got "../../x")`
    ],
    [
      { image: '' },
      `configuration error: input 'image': expected an image reference such as registry.example:5000/team/app:tag or team/app@sha256:<64 hex> (no scheme, lower-case path)`
    ],
    [
      { 'timeout-seconds': '0' },
      `configuration error: input 'timeout-seconds': expected a whole number from 1 to 600 (got "0")`
    ],
    [
      { 'registry-username': 'alice' },
      `configuration error: input 'registry-password': expected a password or token when registry-username is set`
    ],
    [
      { 'registry-insecure': 'maybe' },
      `configuration error: input 'registry-insecure': expected 'true' or 'false' (got "maybe")`
    ],
    [
      { platform: 'amd64' },
      `configuration error: input 'platform': expected os/architecture[/variant], such as linux/amd64 or linux/arm64/v8 (got "amd64")`
    ]
  ])('%j', async (inputs, summary) => {
    const r = await gate({ image: `${registry.host}/acme/app:fresh`, ...inputs });
    expect(r.verdict).toBe('FAIL');
    expect(r.summary).toBe(summary);
  });
});

describe('image-freshness gate: registry unreachable', () => {
  it('plan passes with rebuild needed and a loud warning; verify fails', async () => {
    const gone = await LocalRegistry.start();
    const l = new OciLayout();
    l.image('x', { labels: { [LABEL]: SHA } });
    l.push('x', `${gone.host}/acme/app:x`);
    const image = `${gone.host}/acme/app:x`;
    expect((await gate({ image })).verdict).toBe('PASS');
    await gone.stop();

    const p = await gate({ image, mode: 'plan', 'timeout-seconds': '2' });
    expect(p.verdict).toBe('PASS');
    expect(p.frontmatter).toMatchObject({
      fresh: false,
      rebuild_needed: true,
      registry_reachable: false,
      registry_problem: 'unreachable'
    });
    expect(p.summary).toBe(
      `rebuild needed (assumed, the image could not be read): registry unreachable: manifest ${gone.host}/acme/app:x: cannot reach ${gone.host} (ECONNREFUSED) (3 attempts)`
    );
    expect(p.logger.entries.filter((e) => e.level === 'warning').map((e) => e.message)).toEqual([
      `plan mode: treating the image as stale, a rebuild is needed; registry unreachable: manifest ${gone.host}/acme/app:x: cannot reach ${gone.host} (ECONNREFUSED) (3 attempts)`
    ]);
    expect(p.frontmatter.warnings).toHaveLength(1);

    const v = await gate({ image, 'timeout-seconds': '2' });
    expect(v.verdict).toBe('FAIL');
    expect(v.summary).toMatch(
      /^cannot verify 127\.0\.0\.1:\d+\/acme\/app:x: registry unreachable: /
    );
    expect(v.logger.entries.some((e) => e.level === 'error')).toBe(true);
  });
});

describe('image-freshness gate: registry auth', () => {
  const PASSWORD = 'Tr0ub4dor-and-3-horses';

  it('htpasswd (Basic): right credentials pass; wrong or none fail with one line and no password', async () => {
    const reg = await LocalRegistry.start({ kind: 'htpasswd', users: { ci: PASSWORD } });
    try {
      const l = new OciLayout();
      l.image('x', { labels: { [LABEL]: SHA } });
      l.push('x', `${reg.host}/acme/app:x`, { creds: `ci:${PASSWORD}` });
      const image = `${reg.host}/acme/app:x`;
      const ok = await gate({ image, 'registry-username': 'ci', 'registry-password': PASSWORD });
      expect(ok.verdict).toBe('PASS');

      const wrong = await gate({
        image,
        'registry-username': 'ci',
        'registry-password': 'not-the-password'
      });
      expect(wrong.verdict).toBe('FAIL');
      expect(wrong.summary).toBe(
        `cannot verify ${image}: registry error: manifest ${image}: the registry refused the credentials in registry-username/registry-password (HTTP 401: UNAUTHORIZED: authentication required)`
      );
      expect(wrong.frontmatter).toMatchObject({
        registry_reachable: true,
        registry_problem: 'auth'
      });
      const plan = await gate({
        image,
        mode: 'plan',
        'registry-username': 'ci',
        'registry-password': 'not-the-password'
      });
      expect(plan.verdict).toBe('PASS');
      expect(plan.frontmatter.rebuild_needed).toBe(true);
      expect(plan.warnings[0]).toContain('refused the credentials');

      const anon = await gate({ image });
      expect(anon.summary).toBe(
        `cannot verify ${image}: registry error: manifest ${image}: the registry requires credentials (Basic auth): set registry-username and registry-password`
      );
      for (const run of [ok, wrong, plan, anon]) {
        const all = `${run.summary}\n${run.log}\n${readFileSync(run.reportPath, 'utf8')}`;
        expect(all).not.toContain(PASSWORD);
        expect(all).not.toContain('not-the-password');
      }
    } finally {
      await reg.stop();
    }
  });

  it('token auth (Bearer): a token from the realm with the credentials; refusals are one line; no token printed', async () => {
    const tokens = await TokenServer.start({ ci: PASSWORD });
    const reg = await LocalRegistry.start({
      kind: 'token',
      realm: tokens.realm,
      service: tokens.service,
      issuer: tokens.issuer,
      certPath: tokens.certPath
    });
    try {
      const l = new OciLayout();
      l.image('x', { labels: { [LABEL]: SHA } });
      await l.pushAsync('x', `${reg.host}/acme/app:x`, { creds: `ci:${PASSWORD}` });
      const image = `${reg.host}/acme/app:x`;
      const before = tokens.requests.length;
      const ok = await gate({ image, 'registry-username': 'ci', 'registry-password': PASSWORD });
      expect(ok.verdict).toBe('PASS');
      expect(tokens.requests.slice(before)).toEqual([
        { service: tokens.service, scopes: ['repository:acme/app:pull'], user: 'ci', granted: true }
      ]);

      const wrong = await gate({
        image,
        'registry-username': 'ci',
        'registry-password': 'nope-nope'
      });
      expect(wrong.summary).toBe(
        `cannot verify ${image}: registry error: manifest ${image}: the token service ${tokens.realm} refused the credentials in registry-username/registry-password (HTTP 401: incorrect username or password)`
      );
      // Anonymous: the service issues a token without access, and the registry refuses it.
      const anon = await gate({ image });
      expect(anon.verdict).toBe('FAIL');
      expect(anon.summary).toMatch(
        /: the registry refused anonymous access \(set registry-username and registry-password\) \(HTTP 401: UNAUTHORIZED: authentication required\)$/
      );
      for (const run of [ok, wrong, anon]) {
        const all = `${run.summary}\n${run.log}\n${readFileSync(run.reportPath, 'utf8')}`;
        expect(all).not.toContain(PASSWORD);
        for (const t of tokens.issued) expect(all).not.toContain(t.split('.')[2]);
      }
    } finally {
      await reg.stop();
      await tokens.stop();
    }
  });
});

describe('image-freshness gate: the dist bundle as a runner runs it', () => {
  it('sets fresh / rebuild-needed / digest / image-revision and writes the artefact', async () => {
    const bundle = join(ROOT, 'dist', 'image-freshness-gate', 'index.js');
    if (!existsSync(bundle))
      throw new Error(
        'dist/image-freshness-gate/index.js is missing: run node scripts/bundle.ts image-freshness-gate'
      );
    const workspace = tempDir();
    const fresh = runActionBundle('image-freshness-gate', {
      workspace,
      inputs: { image: `${registry.host}/acme/app:multi`, 'registry-insecure': 'true' },
      event: giteaPullRequestEvent({
        base: 'main',
        head: 'agent/x',
        headSha: SHA,
        repo: 'acme/service'
      })
    });
    expect(fresh.exitCode).toBe(0);
    const top = await rawManifest('multi', 'application/vnd.oci.image.index.v1+json');
    expect(fresh.outputs).toMatchObject({
      status: 'PASS',
      fresh: 'true',
      'rebuild-needed': 'false',
      digest: top.digest,
      'image-revision': SHA
    });
    const report = readFileSync(fresh.outputs['report-path'], 'utf8');
    expect(fresh.outputs['report-path']).toBe(join(workspace, 'gate-reports', IMAGE_REPORT_FILE));
    expect(report).toContain(`head_sha: ${SHA}\n`);
    expect(report).toContain('sha_source: event\n');
    expect(report).toContain('rebuild_needed: false\n');
    expect(fresh.summary).toContain('## Image freshness gate: PASS');

    const plan = runActionBundle('image-freshness-gate', {
      workspace,
      inputs: {
        image: `${registry.host}/acme/app:stale`,
        mode: 'plan',
        sha: SHA,
        'registry-insecure': 'true',
        'registry-username': 'ci',
        'registry-password': 'plain-variable-password'
      }
    });
    expect(plan.exitCode).toBe(0);
    expect(plan.outputs).toMatchObject({
      status: 'PASS',
      fresh: 'false',
      'rebuild-needed': 'true',
      'image-revision': OTHER
    });
    // The runner is told to mask the password; it is printed nowhere else.
    const lines = plan.stdout.split('\n').filter((l) => l.includes('plain-variable-password'));
    expect(lines).toEqual(['::add-mask::plain-variable-password']);

    const bad = runActionBundle('image-freshness-gate', {
      workspace,
      inputs: { image: '../../x', sha: SHA }
    });
    expect(bad.exitCode).toBe(1);
    expect(bad.outputs).toMatchObject({ status: 'FAIL', fresh: 'false', 'rebuild-needed': 'true' });
    expect(bad.stdout).toContain(
      "::error::image-freshness gate: FAIL - configuration error: input 'image': expected an image reference"
    );
  });
});
