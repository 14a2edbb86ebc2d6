// Entry of actions/security-gate: the guard first (it must run before any
// bundled module loads), then the adapter. No logic lives here.
import '../../packages/core/src/node-guard.ts';
import { runPublishedAction } from '../../packages/publish/src/action.ts';
import { securityGate } from '../../packages/security/src/gate.ts';

await runPublishedAction(securityGate, (r) => ({
  'secrets-found': String(r.frontmatter.secrets_found ?? ''),
  'vulnerabilities-new': String(r.frontmatter.vulnerabilities_new ?? ''),
  'commits-scanned': String(r.frontmatter.commits_scanned ?? '')
}));
