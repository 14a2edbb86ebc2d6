// Publishing to the forge against the Gitea contract server: commit statuses
// (exact fields, the 140-character cut, retries, the permission reason), the
// sticky PR comment (created once, then edited; rows of several gates; a
// garbled state recovered; hostile text; concurrent writers) and labels
// (added by name, or a clear reason when the repository lacks one). Every
// request must hold to the contract: no violation in any test.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import { ForgeClient } from '../../packages/forge/src/client.ts';
import {
  EDGE_MARKER,
  emptyEdgeState,
  parseEdgeState,
  renderEdgeComment,
  withRow,
  type GateRowInput
} from '../../packages/forge/src/edge-comment.ts';
import { ForgeError } from '../../packages/forge/src/forge-error.ts';
import { listIssueComments } from '../../packages/forge/src/issue-comments.ts';
import { addLabel } from '../../packages/forge/src/labels.ts';
import {
  gateContext,
  runUrl,
  setCommitStatus,
  verdictToStatus
} from '../../packages/forge/src/statuses.ts';
import {
  markCancelled,
  upsertGateRow,
  type StickyOptions
} from '../../packages/forge/src/sticky-comment.ts';
import type { Handler } from '../helpers/contract-exchange.ts';
import { GiteaContractServer, TEST_TOKEN } from '../helpers/gitea-contract-server.ts';

const REPO = { owner: 'acme', repo: 'service' };
const SHA = '3f1c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a';
const NEXT_SHA = '9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a291807';
const PR = 7;
const FAST: StickyOptions = { settleMs: 0 };

let server: GiteaContractServer;
let client: ForgeClient;

beforeEach(async () => {
  server = await GiteaContractServer.start();
  client = new ForgeClient({
    apiUrl: server.apiUrl,
    token: TEST_TOKEN,
    backoffMs: 1,
    sleep: async () => {}
  });
});

afterEach(async () => {
  expect(server.violations).toEqual([]);
  await server.close();
});

async function rejection(p: Promise<unknown>): Promise<ForgeError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ForgeError);
    const e = err as ForgeError;
    expect(e.message).not.toContain(TEST_TOKEN);
    expect(e.message).not.toContain('\n');
    return e;
  }
  throw new Error('expected a rejection');
}

function row(p: Partial<GateRowInput> = {}): GateRowInput {
  return {
    gate: 'security',
    verdict: 'PASS',
    figure: '0 secrets, 0 new vulnerabilities',
    summary: 'no secrets in 12 added lines',
    link: `${server.origin}/acme/service/actions/runs/12`,
    headSha: SHA,
    ...p
  };
}

function prComments(): { id: number; body: string }[] {
  return server.fake.comments.filter((c) => c.issue === PR);
}

function onlyComment(): { id: number; body: string } {
  const list = prComments();
  expect(list).toHaveLength(1);
  return list[0];
}

describe('commit statuses', () => {
  test('a status is recorded with the exact state, context, description and link', async () => {
    const env = {
      GITHUB_SERVER_URL: server.origin,
      GITHUB_API_URL: server.apiUrl,
      GITHUB_REPOSITORY: 'acme/service',
      GITHUB_RUN_ID: '4711',
      GITHUB_RUN_NUMBER: '12'
    };
    await setCommitStatus(client, REPO, SHA, {
      state: verdictToStatus('FAIL'),
      context: gateContext('coverage'),
      description: 'FAIL: coverage 79.5% is below the baseline 80.0%',
      targetUrl: runUrl(env)
    });
    expect(server.fake.statuses).toHaveLength(1);
    expect(server.fake.statuses[0]).toMatchObject({
      sha: SHA,
      state: 'failure',
      context: 'quality-gates/coverage',
      description: 'FAIL: coverage 79.5% is below the baseline 80.0%',
      targetUrl: `${server.origin}/acme/service/actions/runs/4711`
    });
    expect(server.calls('repoCreateStatus')[0].authorization).toBe('token ***');
  });

  test('a description over 140 characters is cut to 140 with an ellipsis, on one line', async () => {
    const long = `DEFER: merge lock busy,\nheld by ${'feature/very-long-branch-name-'.repeat(8)}`;
    await setCommitStatus(client, REPO, SHA, {
      state: verdictToStatus('DEFER'),
      context: gateContext('merge'),
      description: long
    });
    const s = server.fake.statuses[0];
    expect(s.state).toBe('error');
    expect(Array.from(s.description)).toHaveLength(140);
    expect(s.description.endsWith('…')).toBe(true);
    expect(s.description.startsWith('DEFER: merge lock busy, held by feature/')).toBe(true);
    expect(s.targetUrl).toBe('');
    expect(server.calls('repoCreateStatus')[0].body).not.toHaveProperty('target_url');
  });

  test('429 and then success is retried and records one status', async () => {
    server.fail('repoCreateStatus', { status: 429, retryAfter: '0' });
    await setCommitStatus(client, REPO, SHA, {
      state: 'success',
      context: gateContext('security'),
      description: 'PASS'
    });
    expect(server.calls('repoCreateStatus').map((r) => r.status)).toEqual([429, 201]);
    expect(server.fake.statuses).toHaveLength(1);
  });

  test('403 gives the missing permission in one line, without the token', async () => {
    server.fail('repoCreateStatus', {
      status: 403,
      body: { message: 'token does not have at least one of required scope(s)' }
    });
    const e = await rejection(
      setCommitStatus(client, REPO, SHA, {
        state: 'success',
        context: 'quality-gates/security',
        description: 'PASS'
      })
    );
    expect(e.status).toBe(403);
    expect(e.message).toBe(
      `403 from POST /repos/acme/service/statuses/${SHA}: the token lacks write access to commit statuses (Gitea: the 'write:repository' scope and write access to the repository's code) (server: "token does not have at least one of required scope(s)")`
    );
    expect(server.fake.statuses).toHaveLength(0);
  });

  test('an abbreviated sha is refused before any request', async () => {
    await expect(
      setCommitStatus(client, REPO, SHA.slice(0, 12), {
        state: 'success',
        context: 'c',
        description: 'd'
      })
    ).rejects.toThrow(/is not a full commit id/);
    expect(server.requests).toHaveLength(0);
  });
});

describe('the sticky PR comment', () => {
  test('the first upsert creates the comment, the second edits it: one comment, updated table', async () => {
    const first = await upsertGateRow(
      client,
      REPO,
      PR,
      row({ verdict: 'FAIL', summary: '1 secret found' }),
      {},
      FAST
    );
    expect(first).toMatchObject({ created: true, confirmed: true, warnings: [] });
    const second = await upsertGateRow(
      client,
      REPO,
      PR,
      row({ summary: 'no secrets in 12 added lines' }),
      {},
      FAST
    );
    expect(second).toMatchObject({ created: false, confirmed: true, commentId: first.commentId });
    const c = onlyComment();
    expect(c.id).toBe(first.commentId);
    expect(c.body.startsWith(EDGE_MARKER)).toBe(true);
    expect(c.body).toContain(
      '| security | PASS | 0 secrets, 0 new vulnerabilities | no secrets in 12 added lines |'
    );
    expect(c.body).not.toContain('1 secret found');
    expect(server.calls('issueCreateComment')).toHaveLength(1);
    expect(server.calls('issueEditComment')).toHaveLength(1);
  });

  test("rows of several gates' jobs are all present after sequential upserts, in edge order", async () => {
    await upsertGateRow(
      client,
      REPO,
      PR,
      row({ gate: 'coverage', figure: '81.20% (baseline 80.00%)' }),
      {},
      FAST
    );
    await upsertGateRow(client, REPO, PR, row({ gate: 'security' }), {}, FAST);
    await upsertGateRow(
      client,
      REPO,
      PR,
      row({ gate: 'merge', verdict: 'DEFER', figure: 'class lock-busy', headSha: NEXT_SHA }),
      {},
      FAST
    );
    const body = onlyComment().body;
    const order = [
      '| security | PASS',
      '| merge | DEFER',
      '| coverage | PASS',
      '| image-freshness | not run'
    ].map((s) => body.indexOf(s));
    expect(order.every((i) => i > 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(body).toContain('| security | PASS (older commit `3f1c2a9`) |');
    expect(Object.keys(parseEdgeState(body)!.gates).sort()).toEqual([
      'coverage',
      'merge',
      'security'
    ]);
  });

  test('a garbled state block is dropped with a warning and the same comment is rewritten', async () => {
    const created = await upsertGateRow(client, REPO, PR, row({ gate: 'coverage' }), {}, FAST);
    const c = server.fake.comments.find((x) => x.id === created.commentId)!;
    c.body = c.body.replace(
      /quality-gates:state [A-Za-z0-9+/=]+/,
      'quality-gates:state !!tampered!!'
    );
    const logger = new RecordingLogger();
    const r = await upsertGateRow(
      client,
      REPO,
      PR,
      row({ gate: 'security' }),
      {},
      { ...FAST, logger }
    );
    expect(r.commentId).toBe(created.commentId);
    expect(r.warnings).toEqual([
      `quality-gates comment ${created.commentId}: the state block is garbled; starting the table afresh`
    ]);
    expect(logger.entries.filter((e) => e.level === 'warning')).toHaveLength(1);
    const body = onlyComment().body;
    expect(body).toContain('| security | PASS');
    expect(body).toContain('| coverage | not run');
    expect(Object.keys(parseEdgeState(body)!.gates)).toEqual(['security']);
  });

  test('hostile text renders escaped and the next job still reads the state', async () => {
    const hostile = 'feature/x | <script>alert(1)</script> --> `oops`';
    await upsertGateRow(
      client,
      REPO,
      PR,
      row({ verdict: 'FAIL', summary: `re-test failed on ${hostile}`, blocking: [hostile] }),
      {},
      FAST
    );
    await upsertGateRow(client, REPO, PR, row({ gate: 'coverage' }), {}, FAST);
    const body = onlyComment().body;
    expect(body).not.toContain('<script>');
    expect(body.match(/-->/g)).toHaveLength(2);
    const line = body.split('\n').find((l) => l.startsWith('| security'))!;
    expect((line.match(/(?<!\\)\|/g) ?? []).length).toBe(6);
    const state = parseEdgeState(body)!;
    expect(state.gates.security!.blocking).toEqual([hostile]);
    expect(state.gates.coverage!.verdict).toBe('PASS');
  });

  test('with several marked comments the newest is edited and the others are left alone', async () => {
    const older = renderEdgeComment(
      withRow(emptyEdgeState(), row({ gate: 'merge' }), '2025-01-01T00:00:00.000Z', 'x')
    );
    server.fake.comments.push(
      {
        id: 1,
        issue: PR,
        body: older,
        createdAt: '2025-01-01T00:00:00Z',
        updatedAt: '2025-01-01T00:00:00Z'
      },
      {
        id: 2,
        issue: PR,
        body: 'LGTM, thanks',
        createdAt: '2025-01-02T00:00:00Z',
        updatedAt: '2025-01-02T00:00:00Z'
      },
      {
        id: 3,
        issue: PR,
        body: older,
        createdAt: '2025-01-03T00:00:00Z',
        updatedAt: '2025-01-03T00:00:00Z'
      },
      {
        id: 4,
        issue: 8,
        body: older,
        createdAt: '2025-01-04T00:00:00Z',
        updatedAt: '2025-01-04T00:00:00Z'
      }
    );
    const r = await upsertGateRow(client, REPO, PR, row(), {}, FAST);
    expect(r.commentId).toBe(3);
    const byId = new Map(server.fake.comments.map((c) => [c.id, c.body]));
    expect(byId.get(1)).toBe(older);
    expect(byId.get(2)).toBe('LGTM, thanks');
    expect(byId.get(4)).toBe(older);
    expect(Object.keys(parseEdgeState(byId.get(3)!)!.gates).sort()).toEqual(['merge', 'security']);
    expect(server.calls('issueCreateComment')).toHaveLength(0);
  });

  test('a row another job overwrote at the same moment is merged again', async () => {
    await upsertGateRow(client, REPO, PR, row({ gate: 'security' }), {}, FAST);
    const before = parseEdgeState(onlyComment().body)!;
    const fake = server.fake.handlers();
    let raced = false;
    const edit: Handler = async (r) => {
      const answer = await fake.issueEditComment(r);
      if (!raced) {
        // The coverage job read the same state and wrote right after us, without our row.
        raced = true;
        const theirs = withRow(
          before,
          row({ gate: 'coverage' }),
          new Date().toISOString(),
          'other-job'
        );
        server.fake.comments.find((c) => c.id === Number(r.params.id))!.body =
          renderEdgeComment(theirs);
      }
      return answer;
    };
    server.handle('issueEditComment', edit);
    const r = await upsertGateRow(client, REPO, PR, row({ gate: 'merge' }), {}, { settleMs: 5 });
    expect(r.confirmed).toBe(true);
    expect(server.calls('issueEditComment')).toHaveLength(2);
    expect(Object.keys(parseEdgeState(onlyComment().body)!.gates).sort()).toEqual([
      'coverage',
      'merge',
      'security'
    ]);
  });

  test('two jobs that both find no comment end with one comment holding both rows', async () => {
    // Both listings are answered only after both were asked (a barrier, not a delay that a
    // loaded machine can outlast): each job sees no comment.
    const fake = server.fake.handlers();
    let asked = 0;
    let release: () => void = () => undefined;
    const both = new Promise<void>((resolve) => (release = resolve));
    const list: Handler = async (r) => {
      if (++asked === 2) release();
      if (asked <= 2) await both;
      return fake.issueGetComments(r);
    };
    server.handle('issueGetComments', list);
    const results = await Promise.all([
      upsertGateRow(client, REPO, PR, row({ gate: 'security' }), {}, { settleMs: 20 }),
      upsertGateRow(client, REPO, PR, row({ gate: 'coverage' }), {}, { settleMs: 20 })
    ]);
    expect(server.calls('issueCreateComment')).toHaveLength(2);
    expect(server.calls('issueDeleteComment')).toHaveLength(1);
    const c = onlyComment();
    expect(results.map((r) => r.commentId)).toEqual([c.id, c.id]);
    expect(results.map((r) => r.confirmed)).toEqual([true, true]);
    expect(Object.keys(parseEdgeState(c.body)!.gates).sort()).toEqual(['coverage', 'security']);
  });

  test('needs-human and STOP notes are written into the same comment', async () => {
    await upsertGateRow(
      client,
      REPO,
      PR,
      row({ gate: 'coverage', verdict: 'FAIL' }),
      { needsHuman: 'coverage failed 3 times on feature/x (max-developer-retries 3)' },
      FAST
    );
    const r = await markCancelled(client, REPO, PR, 'STOP requested by alice', FAST);
    expect(r.confirmed).toBe(true);
    const body = onlyComment().body;
    expect(body).toContain('> **Stopped:** STOP requested by alice');
    expect(body).toContain(
      '> **Needs a human:** coverage failed 3 times on feature/x (max-developer-retries 3)'
    );
    expect(body).toContain('| coverage | FAIL');
  });

  test('403 on the comment list gives the issue permission reason', async () => {
    server.fail('issueGetComments', { status: 403 });
    const e = await rejection(upsertGateRow(client, REPO, PR, row(), {}, FAST));
    expect(e.message).toContain(
      "the token lacks read access to issues and pull requests (Gitea: the 'read:issue' scope)"
    );
    expect(prComments()).toHaveLength(0);
  });

  test('a 5xx on creating the comment is not retried (it might exist already)', async () => {
    server.fail('issueCreateComment', { status: 502 });
    const e = await rejection(upsertGateRow(client, REPO, PR, row(), {}, FAST));
    expect(e.status).toBe(502);
    expect(server.calls('issueCreateComment')).toHaveLength(1);
  });
});

describe('labels', () => {
  test('an existing label is added by name', async () => {
    expect(await addLabel(client, REPO, PR, 'gate/security-pass')).toBeUndefined();
    expect(server.fake.issueLabels.get(PR)).toEqual([1]);
    expect(server.calls('issueAddLabel')[0].body).toEqual({ labels: ['gate/security-pass'] });
  });

  test('a label the repository lacks gives a clear reason instead of throwing', async () => {
    expect(await addLabel(client, REPO, PR, 'needs-human')).toBe(
      "label 'needs-human' does not exist in acme/service: create it once in the repository's labels"
    );
    expect(server.fake.issueLabels.get(PR)).toEqual([]);
  });

  test('403 gives the issue write permission reason', async () => {
    server.fail('issueAddLabel', { status: 403 });
    const e = await rejection(addLabel(client, REPO, PR, 'needs-human'));
    expect(e.message).toContain(
      "the token lacks write access to issues and pull requests (Gitea: the 'write:issue' scope"
    );
  });
});

describe('GitHub paging of comments', () => {
  let gh: Server;
  const asked: string[] = [];

  afterEach(async () => {
    await new Promise<void>((r) => gh.close(() => r()));
  });

  test('pages of 100 are followed until a short page', async () => {
    gh = createServer((req, res) => {
      asked.push(req.url ?? '');
      const page = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('page'));
      const n = page === 1 ? 100 : 3;
      const items = Array.from({ length: n }, (_, i) => ({ id: page * 1000 + i, body: `c${i}` }));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(items));
    });
    await new Promise<void>((r) => gh.listen(0, '127.0.0.1', () => r()));
    const port = (gh.address() as AddressInfo).port;
    const github = new ForgeClient({ apiUrl: `http://127.0.0.1:${port}`, token: TEST_TOKEN });
    expect(github.flavor).toBe('github');
    const all = await listIssueComments(github, REPO, PR);
    expect(all).toHaveLength(103);
    expect(asked).toEqual([
      '/repos/acme/service/issues/7/comments?per_page=100&page=1',
      '/repos/acme/service/issues/7/comments?per_page=100&page=2'
    ]);
  });
});
