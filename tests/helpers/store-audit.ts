// Checks that a baseline's audit trail is one unbroken chain of raises: the
// proof, after a concurrency test, that no update was lost or applied twice.
import type { AuditEntry } from '../../packages/store/src/baseline.ts';

/** Returns a description of the first break, or undefined when the chain is whole. */
export function auditChainProblem(
  newestFirst: AuditEntry[],
  finalPercent: number | undefined
): string | undefined {
  const log = [...newestFirst].reverse();
  if (log.length === 0)
    return finalPercent === undefined ? undefined : 'baseline without audit rows';
  if (log[0].how !== 'bootstrap' || log[0].old !== null)
    return `first row is ${log[0].how} from ${log[0].old}`;
  for (let i = 1; i < log.length; i++) {
    const prev = log[i - 1];
    const cur = log[i];
    if (cur.how !== 'ratchet') return `row ${cur.id} is ${cur.how}`;
    if (cur.old !== prev.new)
      return `row ${cur.id} starts at ${cur.old}, previous ended at ${prev.new}`;
    if (cur.new === null || cur.old === null || cur.new <= cur.old)
      return `row ${cur.id} does not raise (${cur.old} -> ${cur.new})`;
  }
  const last = log[log.length - 1].new;
  return last === finalPercent
    ? undefined
    : `last audit row says ${last}, baseline is ${finalPercent}`;
}
