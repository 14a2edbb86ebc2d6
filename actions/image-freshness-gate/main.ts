// Entry of actions/image-freshness-gate: the guard first, then the adapter.
import '../../packages/core/src/node-guard.ts';
import { setSecret } from '@actions/core';
import { runPublishedAction } from '../../packages/publish/src/action.ts';
import { imageFreshnessGate, imageOutputs } from '../../packages/image/src/gate.ts';

// A password passed from a plain variable (not a secret) is masked all the same.
const password = (process.env['INPUT_REGISTRY-PASSWORD'] ?? '').trim();
if (password !== '') setSecret(password);

await runPublishedAction(imageFreshnessGate, imageOutputs);
