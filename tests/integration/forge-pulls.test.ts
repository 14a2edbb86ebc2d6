// The merge queue's forge calls on GitHub's shapes (the Gitea shapes run
// against the contract stand-in in the workflow scenarios): PUT
// /pulls/{n}/merge with {sha, merge_method}, GitHub's refusals (405 not
// mergeable, 409 head modified) as answers with the forge's one line, a
// 5xx or a network failure as an error, dispatch bodies, GET pull fields.
import { createServer, type IncomingMessage } from 'node:http';
import { ForgeClient } from '../../packages/forge/src/client.ts';
import {
  dispatchWorkflow,
  getPullRequest,
  mergePullRequest
} from '../../packages/forge/src/pulls.ts';
import { closeServer, listenLocal } from '../helpers/local-http.ts';

interface Seen {
  method: string;
  url: string;
  body: unknown;
}

const SHA = 'a'.repeat(40);

async function withServer(
  answer: (req: IncomingMessage, body: unknown) => { status: number; body?: unknown },
  run: (client: ForgeClient, seen: Seen[]) => Promise<void>,
  flavor: 'github' | 'gitea' = 'github'
): Promise<void> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const body = raw ? JSON.parse(raw) : undefined;
      seen.push({ method: req.method ?? '', url: req.url ?? '', body });
      const a = answer(req, body);
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(a.body === undefined ? '' : JSON.stringify(a.body));
    });
  });
  const port = await listenLocal(server);
  try {
    const apiUrl =
      flavor === 'github' ? `http://127.0.0.1:${port}` : `http://127.0.0.1:${port}/api/v1`;
    await run(new ForgeClient({ apiUrl, token: 't0ken', backoffMs: 1, retries: 1 }), seen);
  } finally {
    await closeServer(server);
  }
}

const repo = { owner: 'o', repo: 'r' };

describe('merge API, GitHub shapes', () => {
  it('PUT with sha and merge_method; 200 is merged', async () => {
    await withServer(
      () => ({ status: 200, body: { sha: 'b'.repeat(40), merged: true, message: 'merged' } }),
      async (client, seen) => {
        const r = await mergePullRequest(client, repo, 7, { style: 'squash', headSha: SHA });
        expect(r).toEqual({ merged: true });
        expect(seen).toEqual([
          {
            method: 'PUT',
            url: '/repos/o/r/pulls/7/merge',
            body: { sha: SHA, merge_method: 'squash' }
          }
        ]);
      }
    );
  });

  it('409 head modified and 405 not mergeable are answers with the one line; no retry of a refusal', async () => {
    for (const [status, message] of [
      [409, 'Head branch was modified. Review and try the merge again.'],
      [405, 'Pull Request is not mergeable']
    ] as const) {
      await withServer(
        () => ({ status, body: { message } }),
        async (client, seen) => {
          const r = await mergePullRequest(client, repo, 7, { style: 'merge', headSha: SHA });
          expect(r.merged).toBe(false);
          if (!r.merged) {
            expect(r.status).toBe(status);
            expect(r.reason).toContain(message);
            expect(r.reason).not.toContain('t0ken');
          }
          expect(seen).toHaveLength(1);
        }
      );
    }
  });

  it('a 5xx is an error and the merge is not sent twice (not idempotent)', async () => {
    await withServer(
      () => ({ status: 502, body: { message: 'bad gateway' } }),
      async (client, seen) => {
        await expect(
          mergePullRequest(client, repo, 7, { style: 'merge', headSha: SHA })
        ).rejects.toThrow(/502/);
        expect(seen).toHaveLength(1);
      }
    );
  });

  it('styles GitHub lacks and bad heads are refused before any request', async () => {
    await withServer(
      () => ({ status: 200 }),
      async (client, seen) => {
        await expect(
          mergePullRequest(client, repo, 7, { style: 'fast-forward-only', headSha: SHA })
        ).rejects.toThrow(/not offered by github/);
        await expect(
          mergePullRequest(client, repo, 7, { style: 'merge', headSha: 'main' })
        ).rejects.toThrow(/not a full commit id/);
        expect(seen).toHaveLength(0);
      }
    );
  });

  it('Gitea: POST with Do and head_commit_id', async () => {
    await withServer(
      () => ({ status: 200 }),
      async (client, seen) => {
        expect(
          await mergePullRequest(client, repo, 3, { style: 'fast-forward-only', headSha: SHA })
        ).toEqual({ merged: true });
        expect(seen[0]).toEqual({
          method: 'POST',
          url: '/api/v1/repos/o/r/pulls/3/merge',
          body: { Do: 'fast-forward-only', head_commit_id: SHA }
        });
      },
      'gitea'
    );
  });
});

describe('pull request and dispatch', () => {
  it('reads GitHub pull fields (merge_commit_sha) and sends a dispatch body', async () => {
    await withServer(
      (req) =>
        req.method === 'GET'
          ? {
              status: 200,
              body: {
                number: 7,
                state: 'closed',
                merged: true,
                merge_commit_sha: 'c'.repeat(40),
                head: { ref: 'agent/x', sha: SHA },
                base: { ref: 'main', sha: 'd'.repeat(40) }
              }
            }
          : { status: 204 },
      async (client, seen) => {
        expect(await getPullRequest(client, repo, 7)).toEqual({
          number: 7,
          state: 'closed',
          merged: true,
          headRef: 'agent/x',
          headSha: SHA,
          baseRef: 'main',
          mergeCommitSha: 'c'.repeat(40)
        });
        await dispatchWorkflow(client, repo, 'quality-gates.yml', 'main', {
          branch: 'agent/x',
          'pr-number': '7'
        });
        expect(seen[1]).toEqual({
          method: 'POST',
          url: '/repos/o/r/actions/workflows/quality-gates.yml/dispatches',
          body: { ref: 'main', inputs: { branch: 'agent/x', 'pr-number': '7' } }
        });
        await expect(dispatchWorkflow(client, repo, '../x.yml', 'main', {})).rejects.toThrow(
          /not a workflow file name/
        );
      }
    );
  });
});
