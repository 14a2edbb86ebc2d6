// scanRangeEmbedded(): the embedded secrets engine end to end. Streams the
// lines base..head adds out of git, batches them into virtual sources, runs
// secretlint's preset and the supplementary rules over each, maps hits back
// to (commit, file, line), applies the base-side allowlist and deduplicates.
// Neither the secret nor any part of it leaves this module: hits are offsets,
// and the matched text is only ever tested against allowlist regexes.

import type { Logger } from '../../../core/src/logger.ts';
import {
  streamAddedLines,
  type AddedLine,
  type AddedLinesStats
} from '../../../git/src/added-lines.ts';
import { Git, GitError, isSha } from '../../../git/src/git.ts';
import {
  fingerprintOf,
  locationKey,
  type SecretFinding,
  type SecretScanResult
} from '../findings.ts';
import {
  DEFAULT_ALLOWLIST_PATH,
  isAllowed,
  isPathAllowlisted,
  loadAllowlist,
  normaliseRepoPath,
  type Allowlist
} from './allowlist.ts';
import { EMBEDDED_RULE_IDS } from './rule-ids.ts';
import { fileKindOf, runSecretlint, type SecretlintFileKind } from './secretlint-rules.ts';
import { runSupplementaryRules, type RuleHit } from './supplementary-rules.ts';
import {
  DEFAULT_LIMITS,
  VirtualSourceBuilder,
  recordIndexAt,
  type ChunkLimits,
  type VirtualSource
} from './virtual-source.ts';

export interface EmbeddedScanOptions {
  repoDir: string;
  /** Full sha: the range starts after it (typically the merge-base with the target). */
  base: string;
  /** Full sha of the branch tip under test. */
  head: string;
  /** Repository path of the allowlist; default .quality-gates/secrets-allowlist. */
  allowlistPath?: string;
  /** Commit the allowlist is read from: the target branch's tip. Default: base. */
  allowlistRef?: string;
  /** Limit for the whole scan. Default 10 minutes. */
  timeoutMs?: number;
  logger?: Logger;
  signal?: AbortSignal;
  /** Tuning for benchmarks and tests. */
  limits?: ChunkLimits;
}

/** Beyond this many, binary files are summed up in one note. */
const MAX_BINARY_NOTES = 50;

/** Runs every rule over one virtual source. */
export async function detectInText(
  text: string,
  kind: SecretlintFileKind = 'other'
): Promise<RuleHit[]> {
  return [...runSupplementaryRules(text), ...(await runSecretlint(text, kind))];
}

export async function scanRangeEmbedded(opts: EmbeddedScanOptions): Promise<SecretScanResult> {
  const started = Date.now();
  const timeoutMs = opts.timeoutMs ?? 10 * 60_000;
  const deadline = started + timeoutMs;
  const log = opts.logger;
  if (!isSha(opts.base) || !isSha(opts.head)) {
    throw new GitError('secrets scan: base and head must be full commit shas', []);
  }
  const allowlistRef = opts.allowlistRef ?? opts.base;
  if (!isSha(allowlistRef))
    throw new GitError('secrets scan: the allowlist commit must be a full sha', []);
  const allowlistPath = normaliseRepoPath(opts.allowlistPath ?? DEFAULT_ALLOWLIST_PATH);
  const notes: string[] = [];

  const { allowlist, found } = await loadAllowlist({
    repoDir: opts.repoDir,
    ref: allowlistRef,
    path: allowlistPath,
    timeoutMs
  });
  log?.debug(
    found
      ? `secrets allowlist ${allowlistPath} read from ${allowlistRef.slice(0, 12)}`
      : `no secrets allowlist at ${allowlistPath} in ${allowlistRef.slice(0, 12)}`
  );
  for (const id of allowlist.rules) {
    if (!EMBEDDED_RULE_IDS.has(id))
      notes.push(
        `allowlist entry rule:${id} names no rule of the embedded engine; it has no effect`
      );
  }
  if (await branchTouches(opts, allowlistPath, deadline)) {
    notes.push(
      `the branch changes ${allowlistPath}; allowlist changes take effect once they land in the target branch (this scan used the version at ${allowlistRef.slice(0, 12)})`
    );
  }

  const findings = new Map<string, SecretFinding>();
  const builders = new Map<SecretlintFileKind, VirtualSourceBuilder>();
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const scanChunk = async (kind: SecretlintFileKind, src: VirtualSource): Promise<void> => {
    if (Date.now() > deadline) throw new Error(`secrets scan timed out after ${timeoutMs} ms`);
    collect(src, await detectInText(src.text, kind), allowlist, findings);
  };

  // Lines of one file arrive together: remember the last path's verdict.
  let lastFile: string | undefined;
  let lastSkipped = false;
  let lastKind: SecretlintFileKind = 'other';
  let skippedBytes = 0;
  const controller = new AbortController();
  const onAbort = (): void => controller.abort();
  if (opts.signal?.aborted) controller.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const lines = streamAddedLines({
    repoDir: opts.repoDir,
    base: opts.base,
    head: opts.head,
    timeoutMs: Math.max(1, deadline - Date.now()),
    signal: controller.signal
  });
  let stats: AddedLinesStats;
  try {
    for (;;) {
      const next = await lines.next();
      if (next.done) {
        stats = next.value;
        break;
      }
      for (const rec of next.value) {
        if (rec.file !== lastFile) {
          lastFile = rec.file;
          lastSkipped = isPathAllowlisted(allowlist, rec.file);
          lastKind = fileKindOf(rec.file);
        }
        if (lastSkipped) {
          skippedBytes += Buffer.byteLength(rec.text, 'utf8') + 1;
          continue;
        }
        let builder = builders.get(lastKind);
        if (!builder) {
          builder = new VirtualSourceBuilder(limits);
          builders.set(lastKind, builder);
        }
        const ready = builder.add(rec);
        if (ready) await scanChunk(lastKind, ready);
      }
    }
    for (const [kind, builder] of builders) {
      const rest = builder.finish();
      if (rest) await scanChunk(kind, rest);
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await lines.return(undefined as never).catch(() => undefined);
  }

  notes.push(...binaryNotes(stats, allowlist));
  const result: SecretScanResult = {
    engine: 'embedded',
    commitsScanned: stats.commits,
    // Lines in allowlisted paths are added but not examined.
    bytesScanned: stats.bytesAdded - skippedBytes,
    findings: [...findings.values()].sort(compareFindings),
    notes
  };
  log?.debug(
    `embedded secrets scan: ${stats.commits} commits, ${stats.linesAdded} added lines (${stats.bytesAdded} bytes), ${result.findings.length} findings in ${Date.now() - started} ms`
  );
  return result;
}

/** Maps hits to findings, dropping allowed ones and duplicates (per commit, file, line, rule). */
function collect(
  src: VirtualSource,
  hits: RuleHit[],
  allowlist: Allowlist,
  out: Map<string, SecretFinding>
): void {
  for (const hit of hits) {
    const rec: AddedLine = src.records[recordIndexAt(src, hit.start)];
    const loc = { commit: rec.commit, file: rec.file, ruleId: hit.ruleId, line: rec.line };
    const key = locationKey(loc);
    if (out.has(key)) continue;
    if (isAllowed(allowlist, loc, src.text.slice(hit.start, hit.end))) continue;
    out.set(key, {
      engine: 'embedded',
      ...loc,
      authorDate: rec.authorDate,
      fingerprint: fingerprintOf(loc)
    });
  }
}

function compareFindings(a: SecretFinding, b: SecretFinding): number {
  return a.file < b.file
    ? -1
    : a.file > b.file
      ? 1
      : a.line - b.line || a.ruleId.localeCompare(b.ruleId) || a.commit.localeCompare(b.commit);
}

function binaryNotes(stats: AddedLinesStats, allowlist: Allowlist): string[] {
  const listed = stats.binaries.filter((b) => !isPathAllowlisted(allowlist, b.file));
  const allowlisted = stats.binaries.length - listed.length;
  const notes = listed
    .slice(0, MAX_BINARY_NOTES)
    .map((b) => `binary file not scanned: ${JSON.stringify(b.file)} in ${b.commit.slice(0, 12)}`);
  const more = stats.binaryFiles - allowlisted - notes.length;
  if (more > 0) notes.push(`${more} more binary file${more === 1 ? '' : 's'} not scanned`);
  return notes;
}

/** Whether any commit the branch adds touches the allowlist file. */
async function branchTouches(
  opts: EmbeddedScanOptions,
  path: string,
  deadline: number
): Promise<boolean> {
  const git = new Git(opts.repoDir, { timeoutMs: Math.max(1, deadline - Date.now()) });
  const out = await git.run([
    'log',
    '--format=%H',
    '-n',
    '1',
    '--no-renames',
    // Without it, a merge that kept one parent's version hides the side that edited the file.
    '--full-history',
    '--end-of-options',
    `${opts.base}..${opts.head}`,
    '--',
    `:(literal)${path}`
  ]);
  return out.trim() !== '';
}
