// STOP on a label event, from Gitea-shaped and GitHub-shaped pull_request
// payloads (/work/shared/contracts/gitea-event-payloads.md): Gitea sends
// `action: label_updated`, no top-level `label`, and from 1.25 perhaps
// `changes.added_labels`; GitHub sends `action: labeled` and `label`. Both
// carry `pull_request.labels`. A label event that did not add `stop` does
// nothing; any other event (workflow_dispatch, the CLI) is a STOP request.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunContext } from '../../packages/core/src/context.ts';
import { mapInputSource } from '../../packages/core/src/inputs.ts';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import { runTool } from '../../packages/core/src/tool.ts';
import { readStopConfig } from '../../packages/stop/src/config.ts';
import { stopTool } from '../../packages/stop/src/stop.ts';
import { stopRequest, stopRequestFromEnv } from '../../packages/stop/src/trigger.ts';
import { cleanupTempDirs, tempDir } from '../helpers/tmp.ts';

afterAll(cleanupTempDirs);

const label = (name: string, id = 1) => ({ id, name, color: 'ee0701', description: '' });
const repository = {
  id: 1,
  name: 'service',
  full_name: 'acme/service',
  html_url: 'https://git.example/acme/service'
};

function pullRequest(labels: string[]) {
  return {
    id: 100,
    number: 7,
    state: 'open',
    labels: labels.map((n, i) => label(n, i + 1)),
    base: { label: 'main', ref: 'main', sha: 'b'.repeat(40), repo_id: 1, repo: repository },
    head: { label: 'agent/x', ref: 'agent/x', sha: 'a'.repeat(40), repo_id: 1, repo: repository }
  };
}

/** Gitea's PullRequestPayload for a label change (no `label`; `changes` only on 1.25+). */
function gitea(labels: string[], changes?: { added?: string[]; removed?: string[] }) {
  return {
    action: 'label_updated',
    number: 7,
    ...(changes
      ? {
          changes: {
            added_labels: changes.added ? changes.added.map((n) => label(n)) : null,
            removed_labels: changes.removed ? changes.removed.map((n) => label(n)) : null
          }
        }
      : {}),
    pull_request: pullRequest(labels),
    repository,
    sender: { id: 1, login: 'alice' },
    commit_id: '',
    review: null
  };
}

/** GitHub's pull_request `labeled` payload. */
function github(labels: string[], added: string) {
  return {
    action: 'labeled',
    number: 7,
    label: { id: 9, name: added, color: 'ee0701' },
    pull_request: pullRequest(labels),
    repository: { ...repository, html_url: 'https://github.com/acme/service' },
    sender: { login: 'alice' }
  };
}

describe('stopRequest', () => {
  it('GitHub: the stop label just added is a request; another label added is not', () => {
    expect(stopRequest('pull_request', github(['stop'], 'stop'))).toEqual({
      requested: true,
      why: "label 'stop' added"
    });
    expect(stopRequest('pull_request', github(['stop', 'docs'], 'docs'))).toEqual({
      requested: false,
      why: "label 'docs' added, not 'stop'"
    });
    // contains() in the workflow's `if:` ignores case; so does this.
    expect(stopRequest('pull_request', github(['STOP'], 'STOP'))?.requested).toBe(true);
  });

  it('Gitea 1.25+: changes.added_labels says what was added', () => {
    expect(stopRequest('pull_request', gitea(['stop'], { added: ['stop'] }))).toEqual({
      requested: true,
      why: "label 'stop' added"
    });
    const other = stopRequest('pull_request', gitea(['stop', 'docs'], { added: ['docs'] }));
    expect(other).toEqual({
      requested: false,
      why: "labels changed (added: docs; removed: none), 'stop' not added"
    });
    const removal = stopRequest('pull_request', gitea(['stop'], { removed: ['docs'] }));
    expect(removal?.requested).toBe(false);
  });

  it('Gitea before 1.25 (no changes): the labels the pull request carries decide', () => {
    expect(stopRequest('pull_request', gitea(['needs-human', 'stop']))).toEqual({
      requested: true,
      why: "the pull request carries the 'stop' label (the event does not say which label changed)"
    });
    expect(stopRequest('pull_request', gitea(['docs']))).toEqual({
      requested: false,
      why: "the pull request does not carry the 'stop' label"
    });
    // A `changes` object with nothing in it (other edits) says nothing about labels.
    expect(stopRequest('pull_request', gitea(['stop'], {}))?.requested).toBe(true);
  });

  it('a label removed (GitHub unlabeled, Gitea label_cleared) is never a request', () => {
    expect(
      stopRequest('pull_request', { ...github(['stop'], 'docs'), action: 'unlabeled' })
    ).toEqual({ requested: false, why: 'a label was removed (unlabeled)' });
    expect(stopRequest('pull_request', { ...gitea([]), action: 'label_cleared' })?.requested).toBe(
      false
    );
  });

  it('any other event is not a label event: STOP as asked', () => {
    expect(stopRequest('workflow_dispatch', { inputs: { branch: 'agent/x' } })).toBeUndefined();
    expect(stopRequest('pull_request', { ...gitea(['stop']), action: 'opened' })).toBeUndefined();
    expect(stopRequest('pull_request', null)).toBeUndefined();
    expect(stopRequestFromEnv({})).toBeUndefined();
  });
});

describe('the stop tool on a label event', () => {
  function context(event: object): RunContext {
    const path = join(tempDir('qg-stop-event-'), 'event.json');
    writeFileSync(path, JSON.stringify(event));
    return {
      env: { GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: path, GITHUB_ACTOR: 'alice' },
      workspace: tempDir('qg-stop-ws-'),
      repository: 'acme/service',
      event: { name: 'pull_request', headRef: 'agent/x', baseRef: 'main' },
      logger: new RecordingLogger(),
      now: () => new Date()
    };
  }
  const state = () =>
    mapInputSource({ 'state-path': join(tempDir('qg-stop-state-'), 'state.sqlite') });

  it.each([
    ['Gitea 1.25+', gitea(['stop', 'docs'], { added: ['docs'] })],
    ['Gitea before 1.25', gitea(['docs'])],
    ['GitHub', github(['stop', 'docs'], 'docs')]
  ])('%s: another label changed: outcome not-requested, nothing touched', async (_, event) => {
    const ctx = context(event);
    const r = await runTool(stopTool, state(), ctx);
    expect(r.ok).toBe(true);
    expect(r.outputs).toEqual({
      outcome: 'not-requested',
      'lease-released': 'false',
      'branch-deleted': 'false',
      'runs-cancelled': '0'
    });
    expect(r.summary).toMatch(/^not a STOP request: .*; agent\/x left as it is$/);
  });

  it.each([
    ['Gitea 1.25+', gitea(['stop'], { added: ['stop'] })],
    ['Gitea before 1.25', gitea(['stop'])],
    ['GitHub', github(['stop'], 'stop')]
  ])('%s: the stop label added: the config carries the request', (_, event) => {
    const ctx = context(event);
    const c = readStopConfig(state(), ctx);
    expect(c.branch).toBe('agent/x');
    expect(c.request?.requested).toBe(true);
  });
});
