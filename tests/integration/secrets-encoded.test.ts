// Leaks that got past the security gate inside an encoding, each committed
// on a branch of a real repository and scanned as the gate scans it: JSON
// string escapes (a notebook's source lines, a value after \n, an escaped
// quote before the value, \/ inside it) and base64 (a Kubernetes Secret, a
// docker config.json "auth", a kubeconfig client-key-data). Each finding is
// located on the line as committed. Every secret is generated at run time.
import { generateKeyPairSync } from 'node:crypto';
import { scanRangeEmbedded } from '../../packages/security/src/secrets/scan.ts';
import { randomString } from '../../packages/security/src/secrets/token-samples.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { cleanupTempDirs } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

async function findingsOf(files: Record<string, string>): Promise<string[]> {
  const repo = makeRepo();
  const base = repo.sha('HEAD');
  repo.git('checkout', '-q', '-b', 'feature');
  repo.commitAll('add config', files);
  const r = await scanRangeEmbedded({
    repoDir: repo.work,
    base,
    head: repo.sha('HEAD'),
    timeoutMs: 60_000
  });
  return r.findings.map((f) => `${f.file}:${f.line} ${f.ruleId}${f.example ? ' (example)' : ''}`);
}

describe('JSON string escapes', () => {
  it('a secret after \\n in a notebook source line, and after an escaped quote', async () => {
    const aws = randomString(40, `${ALNUM}/+`);
    const ghp = `ghp_${randomString(36, ALNUM)}`;
    const nb = JSON.stringify(
      {
        cells: [
          {
            cell_type: 'code',
            source: ['import boto3\n', `s3 = boto3.client("s3")\nTOKEN = "${ghp}"\n`]
          },
          { cell_type: 'code', source: [`aws_secret_access_key="${aws}"\n`] }
        ]
      },
      null,
      1
    );
    const found = await findingsOf({ 'analysis.ipynb': nb });
    const lines = nb.split('\n');
    const lineOf = (needle: string): number => lines.findIndex((l) => l.includes(needle)) + 1;
    expect(found).toEqual(
      expect.arrayContaining([
        `analysis.ipynb:${lineOf(ghp)} github-pat`,
        expect.stringMatching(new RegExp(`^analysis\\.ipynb:${lineOf(aws.slice(0, 8))} `))
      ])
    );
  });

  it('an escaped \\/ inside the value', async () => {
    const secret = `${randomString(20, ALNUM)}/${randomString(19, ALNUM)}`;
    const json = `{"aws_secret_access_key": "${secret.replace('/', '\\/')}"}\n`;
    expect(await findingsOf({ 'settings.json': json })).toEqual([
      expect.stringMatching(/^settings\.json:1 (aws-secret-access-key|generic-api-key)$/)
    ]);
  });
});

describe('base64', () => {
  it('a Kubernetes Secret manifest', async () => {
    const token = `ghp_${randomString(36, ALNUM)}`;
    const yaml = [
      'apiVersion: v1',
      'kind: Secret',
      'metadata:',
      '  name: registry',
      'type: Opaque',
      'data:',
      `  token: ${b64(token)}`,
      ''
    ].join('\n');
    expect(await findingsOf({ 'k8s/secret.yaml': yaml })).toContain('k8s/secret.yaml:7 github-pat');
  });

  it('a docker config.json auth (user:token)', async () => {
    const token = `glpat-${randomString(20, ALNUM)}`;
    const cfg = `{\n  "auths": {\n    "registry.acme.io": {\n      "auth": "${b64(`deploy:${token}`)}"\n    }\n  }\n}\n`;
    expect(await findingsOf({ '.docker/config.json': cfg })).toContain(
      '.docker/config.json:4 gitlab-pat'
    );
  });

  it('a kubeconfig client-key-data (a PEM private key)', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const pem = privateKey.export({ type: 'sec1', format: 'pem' }).toString();
    const kubeconfig = [
      'apiVersion: v1',
      'kind: Config',
      'users:',
      '- name: admin',
      '  user:',
      `    client-certificate-data: ${b64('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')}`,
      `    client-key-data: ${b64(pem)}`,
      ''
    ].join('\n');
    expect(await findingsOf({ 'kube/config': kubeconfig })).toContain('kube/config:7 private-key');
  });
});
