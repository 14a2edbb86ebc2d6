// Which commit and branch a published verdict is about, from the checkout
// first (what was tested) and the event second.

import type { RunContext } from '../../core/src/context.ts';
import { Git } from '../../git/src/git.ts';

/** The sha the workspace has checked out, or undefined outside a repository. */
export async function workspaceHead(ctx: RunContext): Promise<string | undefined> {
  try {
    return await new Git(ctx.workspace).resolveCommit('HEAD');
  } catch {
    return undefined;
  }
}

/** The task branch: the PR's head branch, else the branch the workspace is on. */
export async function gatedBranch(ctx: RunContext): Promise<string | undefined> {
  if (ctx.event.headRef) return ctx.event.headRef;
  try {
    return await new Git(ctx.workspace).currentBranch();
  } catch {
    return undefined;
  }
}
