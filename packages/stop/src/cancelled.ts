// For the publishing layer: is the gated branch cancelled by STOP? A gate
// run on a cancelled branch either stops at once or, when the pull request
// was reopened, starts the branch from scratch (retries.resetBranch).

import type { RunContext } from '../../core/src/context.ts';
import { branchState, type BranchState } from '../../store/src/branch-state.ts';
import { openStateBackend, type StateConfig } from '../../store/src/state-inputs.ts';

/** The branch's STOP record when it is cancelled; undefined otherwise (a read: creates nothing). */
export async function branchCancelled(
  ctx: RunContext,
  state: StateConfig,
  repository: string,
  branch: string,
  baseRef = ctx.event.baseRef || 'main'
): Promise<BranchState | undefined> {
  const backend = await openStateBackend(state, baseRef, ctx);
  const s = await backend.withDb('read', (db) => branchState(db, repository, branch));
  return s?.state === 'cancelled' ? s : undefined;
}
