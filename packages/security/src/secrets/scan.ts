// scanRangeEmbedded(): the embedded secrets engine end to end. Streams the
// lines base..head adds (and the commits' messages, and the printable text
// of binary files) out of git, batches them into virtual sources, runs the
// ruleset (./ruleset: gitleaks' rule ids and configuration schema; the
// target branch's .gitleaks.toml and .gitleaksignore when it has them) over
// each, maps hits back to (commit, file, line), scans every written path and
// the branch's names too, applies the base-side allowlist and deduplicates.
// Neither the secret nor any part of it leaves this module: hits are offsets,
// and the matched text is only ever tested against allowlist regexes.

import type { Logger } from '../../../core/src/logger.ts';
import {
  splitNulFiles,
  streamLogSegments,
  type AddedLinesStats,
  type ChangedPath,
  BINARY_TEXT_PER_FILE,
  BINARY_TEXT_TOTAL,
  MAX_LISTED_BINARIES,
  emptyAddedLinesStats
} from '../../../git/src/added-lines.ts';
import { Git, GitError, isSha } from '../../../git/src/git.ts';
import {
  fingerprintOf,
  locationKey,
  makeRedactor,
  maskSpans,
  withRedactor,
  type SecretFinding,
  type SecretScanResult
} from '../findings.ts';
import {
  DEFAULT_ALLOWLIST_PATH,
  isAllowed,
  isPathAllowlisted,
  allowlistFrom,
  allowlistObjects,
  normaliseRepoPath,
  type Allowlist,
  type LoadedAllowlist
} from './allowlist.ts';
import { defaultRules, loadRules, type LoadedRules } from './ruleset/config.ts';
import { DetectPool } from './detect-pool.ts';
import {
  findingKey,
  scanSegment,
  type SegmentOptions,
  type SegmentResult
} from './segment-scan.ts';
import { detectDecoded } from './ruleset/decoded-detect.ts';
import type { DetectContext, SecretHit } from './ruleset/engine.ts';
import { GITLEAKS_RULES_RELEASE } from './ruleset/release.ts';
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
  /**
   * Names of the branch under test (the head ref, the PR's branch): scanned
   * like the paths; a secret in one is a finding and is masked in every output.
   */
  refNames?: readonly string[];
  /** Caps on the printable text taken out of binary files (tests). */
  binaryTextPerFile?: number;
  /** Bytes of git's output per segment (tests; default SEGMENT_BYTES). */
  segmentBytes?: number;
  /** Bytes of git's output past which this thread helps the workers (tests; default HELP_AFTER_BYTES). */
  helpAfterBytes?: number;
  binaryTextTotal?: number;
  /**
   * Worker threads that run the rules while this thread reads git (started
   * once a range fills a chunk; 0: all on this thread). Default: the cores
   * but one, at least one, at most four.
   */
  workers?: number;
  /**
   * Only names (paths, the branch name) and commit messages: what another
   * engine (the gitleaks binary) does not look at; added content is skipped.
   */
  namesAndMessagesOnly?: boolean;
}

/** Segments of git's output handed to a worker are about this big (whole files). */
export const SEGMENT_BYTES = 1 << 20;

/** Beyond this many, binary files are summed up in one note. */
const MAX_BINARY_NOTES = 50;

export type RuleHit = SecretHit;

/** Runs every rule of `rules` (default: the embedded default ruleset) over one text. */
export async function detectInText(
  text: string,
  rules: LoadedRules = defaultRules(),
  ctx: DetectContext = {}
): Promise<RuleHit[]> {
  return detectDecoded(rules.ruleset, text, ctx);
}

/**
 * The rules in force: the target branch's .gitleaks.toml read as gitleaks
 * reads it (absent: the default ruleset), and its .gitleaksignore entries
 * (gitleaks fingerprints commit:file:rule:line) added to the allowlist's
 * locations. Never from the branch under test.
 */
function rulesFrom(
  ref: string,
  configFile: { type: string; content: Buffer } | undefined,
  ignoreFile: { type: string; content: Buffer } | undefined
): { rules: LoadedRules; ignores: string[]; notes: string[] } {
  const text = (o: typeof configFile): string | undefined =>
    o?.type === 'blob' ? o.content.toString('utf8') : undefined;
  const config = text(configFile);
  const ignoreText = text(ignoreFile);
  const rules = loadRules(config, '.gitleaks.toml');
  const notes = [...rules.notes];
  if (config !== undefined)
    notes.push(
      `rules: .gitleaks.toml of ${ref.slice(0, 12)} (${rules.ids.size} rules in force; the default ids follow gitleaks ${GITLEAKS_RULES_RELEASE})`
    );
  const ignores = (ignoreText ?? '')
    .split(/\r?\n/)
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter((l) => l !== '');
  return { rules, ignores, notes };
}

/** Output of git past which this thread helps the workers (see the scan loop). */
const HELP_AFTER_BYTES = 64 << 20;

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

  const controller = new AbortController();
  const onAbort = (): void => controller.abort();
  if (opts.signal?.aborted) controller.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  // Every path a commit writes: each is scanned as text once the lines are done.
  const paths = new Map<string, ChangedPath | null>();
  // Every path a commit writes, added or changed: path-only rules (a .p12 file) look at each.
  const changed = new Map<string, ChangedPath>();
  const onPath = (p: ChangedPath): void => {
    changed.set(p.file, p);
    // git log lists newest first: the last commit seen adding a path is the one that introduced it.
    if (p.added || !paths.has(p.file)) paths.set(p.file, p.added ? p : null);
  };
  // Workers start with the first segment of at least half this (a smaller range is scanned here).
  const segmentBytes = opts.segmentBytes ?? SEGMENT_BYTES;
  const segments = streamLogSegments({
    repoDir: opts.repoDir,
    base: opts.base,
    head: opts.head,
    timeoutMs: Math.max(1, deadline - Date.now()),
    signal: controller.signal,
    messages: true,
    segmentBytes
  });
  // git starts on the range now: its first output is on the way while the rules are read and compiled.
  let pending: ReturnType<typeof segments.next> | undefined = segments.next();
  pending.catch(() => undefined); // awaited below, or given up with the generator
  const giveUp = async (): Promise<void> => {
    opts.signal?.removeEventListener('abort', onAbort);
    await segments.return(undefined).catch(() => undefined);
  };

  // The target branch's allowlist, .gitleaks.toml and .gitleaksignore in one git process;
  // whether the branch touches the allowlist, at the same time.
  const reader = new Git(opts.repoDir, { timeoutMs: Math.max(1, deadline - Date.now()) });
  let fromFile: LoadedAllowlist;
  let loaded: ReturnType<typeof rulesFrom>;
  let touched: boolean;
  try {
    const [[commit, allowFile, configFile, ignoreFile], touches] = await Promise.all([
      reader.readObjects([
        ...allowlistObjects(allowlistRef, allowlistPath),
        `${allowlistRef}:.gitleaks.toml`,
        `${allowlistRef}:.gitleaksignore`
      ]),
      branchTouches(opts, allowlistPath, deadline)
    ]);
    fromFile = allowlistFrom(allowlistRef, allowlistPath, commit, allowFile);
    loaded = rulesFrom(allowlistRef, configFile, ignoreFile);
    touched = touches;
  } catch (err) {
    await giveUp();
    throw err;
  }
  let allowlist = fromFile.allowlist;
  log?.debug(
    fromFile.found
      ? `secrets allowlist ${allowlistPath} read from ${allowlistRef.slice(0, 12)}`
      : `no secrets allowlist at ${allowlistPath} in ${allowlistRef.slice(0, 12)}`
  );
  const rules = loaded.rules;
  notes.push(...loaded.notes);
  if (loaded.ignores.length > 0) {
    const locations = new Set(allowlist.locations);
    for (const l of loaded.ignores) locations.add(l);
    allowlist = { ...allowlist, locations };
  }
  for (const id of allowlist.rules) {
    if (!rules.ids.has(id))
      notes.push(
        `allowlist entry rule:${id} names no rule of the embedded engine; it has no effect`
      );
  }
  if (touched) {
    notes.push(
      `the branch changes ${allowlistPath}; allowlist changes take effect once they land in the target branch (this scan used the version at ${allowlistRef.slice(0, 12)})`
    );
  }

  const findings = new Map<string, SecretFinding>();
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const timedOut = (): Error => new Error(`secrets scan timed out after ${timeoutMs} ms`);
  const segmentOptions: SegmentOptions = {
    namesAndMessagesOnly: opts.namesAndMessagesOnly,
    limits,
    binaryTextPerFile: opts.binaryTextPerFile,
    binaryTextTotal: opts.binaryTextTotal,
    deadline,
    timeoutMs
  };
  // Segments holding a NUL (binary, UTF-16) are read here, in order: they share the range's budget for binary text.
  const binaryBudget = { used: 0 };
  const stats: AddedLinesStats = emptyAddedLinesStats();
  let skippedBytes = 0;
  // Results are merged in segment order, whoever scanned them: the same findings as one pass.
  const merge = (r: SegmentResult): void => {
    for (const f of r.findings) {
      const key = findingKey(f);
      if (!findings.has(key)) findings.set(key, f);
    }
    for (const p of r.paths) onPath(p);
    stats.commits += r.stats.commits;
    stats.linesAdded += r.stats.linesAdded;
    stats.bytesAdded += r.stats.bytesAdded;
    stats.binaryFiles += r.stats.binaryFiles;
    stats.binaryTextCapped += r.stats.binaryTextCapped;
    stats.utf16Files += r.stats.utf16Files;
    for (const b of r.stats.binaries)
      if (stats.binaries.length < MAX_LISTED_BINARIES) stats.binaries.push(b);
    skippedBytes += r.skippedBytes;
  };
  let pool: DetectPool | undefined;
  // Bytes of git's output read so far.
  let outputBytes = 0;
  const inFlight: Promise<SegmentResult>[] = [];
  const nameScanner = new NameScanner(async (text) => {
    if (Date.now() > deadline) throw timedOut();
    return detectInText(text, rules);
  }, limits);
  const collectNext = async (): Promise<void> => {
    const r = await beforeDeadline(inFlight.shift()!, deadline, timedOut);
    merge(r);
    // The names this segment brought are scanned now, while the workers are still busy.
    for (const p of r.paths) await nameScanner.add(p.file);
    await nameScanner.flush();
  };
  try {
    for (;;) {
      const next = await (pending ?? segments.next());
      pending = undefined;
      if (next.done) break;
      const seg = next.value;
      if (Date.now() > deadline) throw timedOut();
      // A range smaller than one segment is done here: starting workers would cost more.
      if (!pool && opts.workers !== 0 && seg.bytes.length >= segmentBytes / 2)
        pool = DetectPool.start(rules, { allowlist, options: segmentOptions }, opts.workers);
      outputBytes += seg.bytes.length;
      // Only the files holding a NUL are read here; the segment's text files go to the workers.
      for (const piece of pool ? splitNulFiles(seg) : [seg]) {
        // Pieces holding a NUL are read here, in order (they share the range's binary-text budget).
        // In a long range this thread also scans a text piece while the workers have two each
        // waiting: measured, on 453 MB of a real history 15.7 s instead of 17.3 s; on 33 MB it
        // cost 80 ms (this thread's rules and code warm up for too little work), hence the wait.
        if (
          !pool ||
          piece.nul ||
          (outputBytes >= (opts.helpAfterBytes ?? HELP_AFTER_BYTES) &&
            pool.backlog() >= 2 * pool.size)
        ) {
          inFlight.push(
            Promise.resolve(
              scanSegment(piece, rules.ruleset, allowlist, segmentOptions, binaryBudget)
            )
          );
        } else {
          const result = pool.scanSegment(piece);
          result.catch(() => undefined); // awaited in turn below; not an unhandled rejection meanwhile
          inFlight.push(result);
        }
        // Two segments per worker at most: memory stays bounded, every worker stays busy.
        while (inFlight.length > 2 * (pool?.size ?? 0)) await collectNext();
      }
    }
    while (inFlight.length > 0) await collectNext();
  } finally {
    await giveUp();
    await pool?.close();
  }

  // Names: every path the range writes (most scanned already, segment by segment), and the branch's own names.
  for (const ref of opts.refNames ?? []) await nameScanner.add(ref, true);
  const names = await nameScanner.finish(paths);
  const headDate =
    names.refHits.length > 0
      ? (
          await new Git(opts.repoDir, { timeoutMs: Math.max(1, deadline - Date.now()) }).run([
            'log',
            '-1',
            '--format=%aI',
            opts.head,
            '--'
          ])
        ).trim()
      : '';
  const all = maskFindings([...findings.values()], names.masked, allowlist);
  for (const f of nameFindings(names, allowlist, opts.head, headDate)) {
    if (!all.some((g) => g.fingerprint === f.fingerprint && g.source === f.source)) all.push(f);
  }
  // Path-only rules: the file itself is the finding (its name is not a secret: shown as it is).
  // Beside another engine they are that engine's (gitleaks applies them to the same paths).
  for (const [file, p] of opts.namesAndMessagesOnly ? [] : changed) {
    if (isPathAllowlisted(allowlist, file)) continue;
    for (const ruleId of rules.ruleset.matchPath(file, p.commit)) {
      const loc = { commit: p.commit, file: names.masked.get(file) ?? file, ruleId, line: 0 };
      if (isAllowed(allowlist, loc, '')) continue;
      all.push({
        engine: 'embedded',
        ...loc,
        authorDate: p.authorDate,
        fingerprint: fingerprintOf(loc),
        source: 'path'
      });
    }
  }
  // Binary content is the other engine's when only names and messages are scanned here.
  if (!opts.namesAndMessagesOnly)
    notes.push(
      ...binaryNotes(stats, allowlist, (p) => names.masked.get(p) ?? p, {
        perFile: opts.binaryTextPerFile ?? BINARY_TEXT_PER_FILE,
        total: opts.binaryTextTotal ?? BINARY_TEXT_TOTAL
      })
    );
  const result: SecretScanResult = withRedactor(
    {
      engine: 'embedded',
      commitsScanned: stats.commits,
      // Lines in allowlisted paths are added but not examined.
      bytesScanned: stats.bytesAdded - skippedBytes,
      findings: all.sort(compareFindings),
      notes
    },
    makeRedactor(names.secrets)
  );
  log?.debug(
    `embedded secrets scan: ${stats.commits} commits, ${stats.linesAdded} added lines (${stats.bytesAdded} bytes), ${result.findings.length} findings in ${Date.now() - started} ms`
  );
  return result;
}

/** `p`, or the timeout error once the deadline passes first. */
async function beforeDeadline<T>(
  p: Promise<T>,
  deadline: number,
  timedOut: () => Error
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(timedOut()), Math.max(0, deadline - Date.now()));
      })
    ]);
  } finally {
    clearTimeout(timer);
  }
}

interface NameHit {
  ruleId: string;
  /** The matched text: tested against the allowlist and given to the redactor, never stored. */
  secret: string;
}

interface ScannedNames {
  /** Raw name -> the name with its secrets masked (only names that hold one). */
  masked: Map<string, string>;
  /** Paths added by the range that hold a secret, with the hits. */
  pathHits: { path: ChangedPath; hits: NameHit[] }[];
  refHits: { ref: string; hits: NameHit[] }[];
  /** Every matched text, for the last-line redactor. */
  secrets: string[];
}

/**
 * Scans names as text: the paths the range writes and the branch names,
 * one name per line ('\n' and '\r' in a name read as spaces), each name
 * once. Paths are added as segment results bring them and scanned in a
 * batch per segment (flush()), while the workers still scan content; the
 * branch names come last. finish() says which names hold a secret.
 */
class NameScanner {
  private readonly names: { name: string; ref: boolean }[] = [];
  private readonly seen = new Set<string>();
  private readonly spans = new Map<number, [number, number][]>();
  private readonly hitsOf = new Map<number, NameHit[]>();
  private readonly secrets: string[] = [];
  private readonly builder: VirtualSourceBuilder;
  private readonly detect: (text: string) => Promise<RuleHit[]>;

  constructor(detect: (text: string) => Promise<RuleHit[]>, limits: ChunkLimits) {
    this.detect = detect;
    this.builder = new VirtualSourceBuilder(limits);
  }

  /** A path (or with `ref`, a branch name) to scan; one already added is not added again. */
  async add(name: string, ref = false): Promise<void> {
    const key = `${ref ? 'ref' : 'path'}:${name}`;
    if (name === '' || this.seen.has(key)) return;
    this.seen.add(key);
    const i = this.names.length;
    this.names.push({ name, ref });
    const ready = this.builder.add({
      commit: '',
      authorDate: '',
      file: '',
      // The index of the name, so a hit finds its way back.
      line: i,
      text: name.replace(/[\r\n]/g, ' '),
      block: i
    });
    if (ready) await this.run(ready);
  }

  /** Scans the names added since the last batch. */
  async flush(): Promise<void> {
    const rest = this.builder.finish();
    if (rest) await this.run(rest);
  }

  /** Every name scanned; `paths`: what the range did to each path (for the findings of added ones). */
  async finish(paths: ReadonlyMap<string, ChangedPath | null>): Promise<ScannedNames> {
    await this.flush();
    const out: ScannedNames = {
      masked: new Map(),
      pathHits: [],
      refHits: [],
      secrets: this.secrets
    };
    for (const [idx, s] of this.spans) {
      const n = this.names[idx];
      out.masked.set(n.name, maskSpans(n.name, s));
      const hits = this.hitsOf.get(idx) ?? [];
      if (n.ref) out.refHits.push({ ref: n.name, hits });
      else {
        // Only a path the range added is a finding; a changed one is masked all the same.
        const path = paths.get(n.name);
        if (path) out.pathHits.push({ path, hits });
      }
    }
    return out;
  }

  private async run(src: VirtualSource): Promise<void> {
    for (const hit of await this.detect(src.text)) {
      const i = recordIndexAt(src, hit.start);
      const rec = src.records[i];
      const at = src.starts[i];
      const start = Math.max(0, hit.start - at);
      const end = Math.min(rec.text.length, hit.end - at);
      if (end <= start) continue;
      const idx = rec.line;
      const secret = this.names[idx].name.slice(start, end);
      this.secrets.push(secret);
      (this.spans.get(idx) ?? this.spans.set(idx, []).get(idx)!).push([start, end]);
      (this.hitsOf.get(idx) ?? this.hitsOf.set(idx, []).get(idx)!).push({
        ruleId: hit.ruleId,
        secret
      });
    }
  }
}

/** Content findings in files whose names hold a secret: the name masked, the fingerprint re-derived from it. */
function maskFindings(
  findings: SecretFinding[],
  masked: Map<string, string>,
  allowlist: Allowlist
): SecretFinding[] {
  const out: SecretFinding[] = [];
  const seen = new Set<string>();
  for (const f of findings) {
    const m = f.source === undefined ? masked.get(f.file) : undefined;
    if (m === undefined) {
      out.push(f);
      continue;
    }
    const loc = { commit: f.commit, file: m, ruleId: f.ruleId, line: f.line };
    const key = locationKey(loc);
    // The report only ever shows the masked name, so that is what an allowlist entry names.
    if (seen.has(key) || allowlist.locations.has(key)) continue;
    const fingerprint = fingerprintOf(loc);
    if (allowlist.fingerprints.has(fingerprint)) continue;
    seen.add(key);
    out.push({ ...f, file: m, fingerprint });
  }
  return out;
}

/** One finding per rule for each added path and branch name that holds a secret. */
function nameFindings(
  names: ScannedNames,
  allowlist: Allowlist,
  head: string,
  headDate: string
): SecretFinding[] {
  const out = new Map<string, SecretFinding>();
  const add = (
    at: { commit: string; authorDate: string; raw: string },
    source: 'path' | 'branch-name',
    hits: NameHit[]
  ): void => {
    const file = names.masked.get(at.raw) ?? at.raw;
    for (const h of hits) {
      const loc = { commit: at.commit, file, ruleId: h.ruleId, line: 0 };
      const key = `${source}:${locationKey(loc)}`;
      if (out.has(key) || isAllowed(allowlist, loc, h.secret)) continue;
      out.set(key, {
        engine: 'embedded',
        ...loc,
        authorDate: at.authorDate,
        fingerprint: fingerprintOf(loc),
        source
      });
    }
  };
  for (const { path, hits } of names.pathHits) {
    // path: entries keep a file from being scanned, its name included.
    if (isPathAllowlisted(allowlist, path.file)) continue;
    add({ commit: path.commit, authorDate: path.authorDate, raw: path.file }, 'path', hits);
  }
  for (const { ref, hits } of names.refHits)
    add({ commit: head, authorDate: headDate, raw: ref }, 'branch-name', hits);
  return [...out.values()];
}

function compareFindings(a: SecretFinding, b: SecretFinding): number {
  return a.file < b.file
    ? -1
    : a.file > b.file
      ? 1
      : a.line - b.line || a.ruleId.localeCompare(b.ruleId) || a.commit.localeCompare(b.commit);
}

function binaryNotes(
  stats: AddedLinesStats,
  allowlist: Allowlist,
  mask: (path: string) => string,
  caps: { perFile: number; total: number }
): string[] {
  const listed = stats.binaries.filter((b) => !isPathAllowlisted(allowlist, b.file));
  const allowlisted = stats.binaries.length - listed.length;
  const size = (n: number): string =>
    n >= 1 << 20 && n % (1 << 20) === 0 ? `${n / (1 << 20)} MiB` : `${n} characters`;
  const notes = listed.slice(0, MAX_BINARY_NOTES).map((b) => {
    const where = `${JSON.stringify(mask(b.file))} in ${b.commit.slice(0, 12)}`;
    if (b.scanned === 'none') return `binary file not scanned: ${where}`;
    if (b.capped === 'file')
      return `binary file: only the first ${size(caps.perFile)} of its printable text was scanned: ${where}`;
    if (b.capped === 'total')
      return `binary file: its printable text was not all scanned (the ${size(caps.total)} limit for binary files' text was reached): ${where}`;
    return `binary file: only its printable text was scanned: ${where}`;
  });
  const more = stats.binaryFiles - allowlisted - notes.length;
  if (more > 0)
    notes.push(
      `${more} more binary file${more === 1 ? '' : 's'} (printable text scanned${stats.binaryTextCapped > 0 ? `; ${stats.binaryTextCapped} cut at a size limit` : ''})`
    );
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
