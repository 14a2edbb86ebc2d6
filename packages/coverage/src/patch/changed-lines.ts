// The lines a branch adds or changes: `git diff -U0 <merge-base> <head>`,
// parsed in one streaming pass, for patch coverage (like diff-cover and
// Codecov's patch status).
//
// What counts as a changed line is diff-cover's rule (diff_cover 7.4,
// diff_reporter.GitDiffReporter): the merge-base of base and head against
// head (diff-cover's default `base...HEAD`), git's own rename detection (a
// renamed file counts only the lines its edits touch), and every '+' line
// of a hunk, numbered in the new file. Where diff-cover's parser is wrong we
// are not:
// - a `\ No newline at end of file` marker takes no line number (diff-cover
//   counts it as a line, so every later '+' line of the hunk is off by one);
// - C-quoted names (spaces at the end, quotes, backslashes, tabs, non-ASCII)
//   are decoded (diff-cover keeps the escapes or cuts the name at a quote);
// - symbolic links and submodules (gitlinks) are not source files and are
//   left out (diff-cover counts the link target or `Subproject commit` line).
// Files without changed lines (deleted, renamed without edits, mode-only,
// binary without text) are left out; diff-cover lists them with no lines,
// which changes none of its figures.
//
// The repository is untrusted: the code under test can write .git/config and
// .gitattributes. Nothing it sets changes the output or runs a program:
// every option that config could change is pinned on the command line
// (prefixes, algorithm, renames, context, relative, quoting, submodules),
// --no-ext-diff and --no-textconv keep diff drivers and textconv programs
// from running, --text keeps a `-diff`/`binary` attribute from hiding a
// text file's changes (binaries are recognised here instead: a NUL in a
// file's first 8000 characters, git's own rule), and --no-replace-objects
// keeps a planted refs/replace/ from swapping commits.

import { runCommand } from '../../../proc/src/run.ts';
import { parseGitHeaderPath, unquoteCPath } from '../../../git/src/added-lines.ts';
import { firstErrorLine, type Git } from '../../../git/src/git.ts';

export interface ChangedFile {
  /** Repository path, '/' separated, as git names it in the new tree. */
  path: string;
  /** Sorted, unique: lines added or changed in head. */
  lines: number[];
  /** Its content holds a NUL (git's binary rule): not source, whatever its name. */
  binary?: boolean;
}

export interface ChangedLines {
  /** The merge-base sha. */
  base: string;
  /** The head sha. */
  head: string;
  /** Sorted by path. */
  files: ChangedFile[];
  /** Caveats, one line each (several merge-bases, rename detection cut short). */
  notes?: string[];
  /**
   * Every file path in head's tree, changed or not (for path mapping: a
   * report path that an unchanged file fits is not taken for a changed one).
   */
  repoFiles?: string[];
}

/** git's binary sniffing looks at the first 8000 bytes of a blob. */
const SNIFF_CHARS = 8000;
/** A line longer than this is cut: only a body line's first character matters. */
const MAX_KEPT_LINE = 64 * 1024;
/** git's default rename limit (diff.renameLimit), pinned so config cannot change it. */
export const RENAME_LIMIT = 1000;

/**
 * The diff options: everything a repository's or user's config could change
 * about the output is pinned (see the header comment). Exported for tests.
 */
export function diffArgs(base: string, head: string): string[] {
  return [
    '--no-replace-objects',
    // Quoted names are pure ASCII: a chunk boundary can never split a header's character.
    '-c',
    'core.quotePath=true',
    '-c',
    'diff.suppressBlankEmpty=false',
    'diff',
    '--no-color',
    '--no-ext-diff',
    '--no-textconv',
    '--text',
    '--find-renames',
    `-l${RENAME_LIMIT}`,
    '--unified=0',
    '--inter-hunk-context=0',
    '--diff-algorithm=myers',
    '--indent-heuristic',
    '--no-relative',
    '--src-prefix=a/',
    '--dst-prefix=b/',
    '--submodule=short',
    '--ignore-submodules=all',
    '--end-of-options',
    base,
    head,
    '--'
  ];
}

class DiffFormatError extends Error {
  constructor(message: string) {
    super(`unexpected git diff output: ${message}`);
    this.name = 'DiffFormatError';
  }
}

interface FileState {
  /** The rest of the `diff --git ` line. */
  header: string;
  /** From `+++ b/...` (null: /dev/null, a deletion). */
  plusPath?: string | null;
  /** From `rename to` / `copy to`. */
  renameTo?: string;
  /** The new side's mode, when a header said. */
  mode?: string;
  lines: number[];
  binary: boolean;
  sniffed: number;
}

/**
 * Incremental parser of `git diff -U0` output (a/ and b/ prefixes). Feed it
 * text in chunks of any size; end() returns the files. Memory: the line
 * numbers kept, plus at most one line of the text (cut at MAX_KEPT_LINE).
 */
export class UnifiedDiffParser {
  private readonly byPath = new Map<string, ChangedFile>();
  private file: FileState | null = null;
  /** Path of the current file's hunks, fixed at its first hunk. */
  private path: string | undefined;
  private oldLeft = 0;
  private newLeft = 0;
  private next = 0;
  private carry = '';
  private carryCut = false;
  private lineNo = 0;

  feed(chunk: string): void {
    let start = 0;
    let nl = chunk.indexOf('\n');
    if (this.carry !== '' || this.carryCut) {
      if (nl < 0) {
        this.keep(chunk, 0, chunk.length);
        return;
      }
      this.keep(chunk, 0, nl);
      const line = this.carry;
      this.carry = '';
      this.carryCut = false;
      this.line(line, 0, line.length);
      start = nl + 1;
      nl = chunk.indexOf('\n', start);
    }
    while (nl >= 0) {
      this.line(chunk, start, nl);
      start = nl + 1;
      nl = chunk.indexOf('\n', start);
    }
    if (start < chunk.length) this.keep(chunk, start, chunk.length);
  }

  /** Call once the text is over; returns the files with changed lines, sorted by path. */
  end(): ChangedFile[] {
    if (this.carry !== '' || this.carryCut) {
      const line = this.carry;
      this.carry = '';
      this.carryCut = false;
      this.line(line, 0, line.length);
    }
    if (this.oldLeft > 0 || this.newLeft > 0)
      throw new DiffFormatError(`it ended inside a hunk of ${JSON.stringify(this.path)}`);
    this.endFile();
    const files = [...this.byPath.values()].sort((a, b) =>
      a.path < b.path ? -1 : a.path > b.path ? 1 : 0
    );
    for (const f of files) f.lines = uniqueSorted(f.lines);
    return files;
  }

  private keep(s: string, from: number, to: number): void {
    const room = MAX_KEPT_LINE - this.carry.length;
    if (to - from > room) {
      this.carry += s.slice(from, from + Math.max(0, room));
      this.carryCut = true;
    } else this.carry += s.slice(from, to);
  }

  /** One line, s[from..to) without its newline. */
  private line(s: string, from: number, to: number): void {
    this.lineNo++;
    const c = from < to ? s.charCodeAt(from) : -1;
    if (this.oldLeft > 0 || this.newLeft > 0) {
      this.body(c, s, from, to);
      return;
    }
    // "\ No newline at end of file" after a hunk's last line.
    if (c === 92) return;
    if (c === 100 && s.startsWith('diff ', from)) {
      const text = s.slice(from, to);
      if (text.startsWith('diff --git ')) {
        this.endFile();
        this.file = { header: text.slice(11), lines: [], binary: false, sniffed: 0 };
        return;
      }
      if (text.startsWith('diff --cc ') || text.startsWith('diff --combined '))
        throw new DiffFormatError(
          'a combined (merge) diff; a diff of two trees (git diff <base> <head>) is expected'
        );
    }
    // Text before the first file (a commit header from git show) is not ours.
    if (this.file === null) {
      if (c === 64 && s.startsWith('@@', from))
        throw new DiffFormatError(`line ${this.lineNo}: a hunk before any "diff --git" header`);
      return;
    }
    this.header(s.slice(from, Math.min(to, from + MAX_KEPT_LINE)));
  }

  private header(text: string): void {
    const f = this.file as FileState;
    if (text.startsWith('@@')) {
      this.hunk(text);
      return;
    }
    // After a file's hunks only another hunk or the next file can come.
    if (this.path !== undefined) this.overrun();
    if (text.startsWith('+++ ')) {
      const name = text.slice(4);
      f.plusPath = name === '/dev/null' ? null : stripSide(unquote(name), 'b/');
    } else if (text.startsWith('rename to ')) {
      f.renameTo = unquote(text.slice(10));
    } else if (text.startsWith('copy to ')) {
      f.renameTo = unquote(text.slice(8));
    } else if (text.startsWith('new file mode ')) {
      f.mode = text.slice(14).trim();
    } else if (text.startsWith('new mode ')) {
      f.mode = text.slice(9).trim();
    } else if (text.startsWith('index ')) {
      // "index <old>..<new> <mode>" when the mode did not change.
      const mode = /^index \S+ (\d+)$/.exec(text);
      if (mode && f.mode === undefined) f.mode = mode[1];
    } else if (text.startsWith('Binary files ') || text === 'GIT binary patch') {
      f.binary = true;
    }
  }

  private hunk(text: string): void {
    const m = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(text);
    if (!m) throw new DiffFormatError(`line ${this.lineNo}: malformed hunk header`);
    const f = this.file as FileState;
    if (this.path === undefined) {
      const path = f.plusPath === null ? null : (f.plusPath ?? f.renameTo ?? headerPath(f.header));
      if (path === undefined)
        throw new DiffFormatError(`line ${this.lineNo}: a hunk whose file name cannot be read`);
      this.path = path ?? '';
    }
    this.oldLeft = m[2] === undefined ? 1 : Number(m[2]);
    this.newLeft = m[4] === undefined ? 1 : Number(m[4]);
    this.next = Number(m[3]);
  }

  private body(c: number, s: string, from: number, to: number): void {
    if (c === 43) {
      // '+': a line of the new file.
      if (this.newLeft <= 0) this.overrun();
      const f = this.file as FileState;
      f.lines.push(this.next);
      if (!f.binary && f.sniffed < SNIFF_CHARS) {
        const end = Math.min(to, from + 1 + (SNIFF_CHARS - f.sniffed));
        if (s.slice(from + 1, end).includes('\0')) f.binary = true;
        f.sniffed += end - from;
      }
      this.next++;
      this.newLeft--;
    } else if (c === 45) {
      if (this.oldLeft <= 0) this.overrun();
      this.oldLeft--;
    } else if (c === 32 || c === -1) {
      // Context (GIT_DIFF_OPTS can force some in); an empty line is blank context.
      if (this.oldLeft <= 0 || this.newLeft <= 0) this.overrun();
      this.oldLeft--;
      this.newLeft--;
      this.next++;
    } else if (c !== 92) {
      throw new DiffFormatError(
        `line ${this.lineNo}: a hunk of ${JSON.stringify(this.path)} ended early`
      );
    }
  }

  private overrun(): never {
    throw new DiffFormatError(
      `line ${this.lineNo}: a hunk of ${JSON.stringify(this.path)} has more lines than its header says`
    );
  }

  private endFile(): void {
    const f = this.file;
    const path = this.path;
    this.file = null;
    this.path = undefined;
    if (f === null || path === undefined || path === '' || f.lines.length === 0) return;
    // Symbolic links (a target path) and submodules (a commit) are not source files.
    if (f.mode === '120000' || f.mode === '160000') return;
    const known = this.byPath.get(path);
    if (known) {
      known.lines.push(...f.lines);
      if (f.binary) known.binary = true;
    } else {
      const cf: ChangedFile = { path, lines: f.lines };
      if (f.binary) cf.binary = true;
      this.byPath.set(path, cf);
    }
  }
}

/** The parser, for tests and hand-made diffs: `git diff -U0` output -> files. */
export function parseUnifiedDiff(text: string): ChangedFile[] {
  const p = new UnifiedDiffParser();
  p.feed(text);
  return p.end();
}

function uniqueSorted(lines: number[]): number[] {
  let sorted = true;
  for (let i = 1; i < lines.length; i++)
    if (lines[i] <= lines[i - 1]) {
      sorted = false;
      break;
    }
  if (sorted) return lines;
  return [...new Set(lines)].sort((a, b) => a - b);
}

/** A name as git writes it on a header line: C-quoted, or plain (a tab ends a name with spaces). */
function unquote(name: string): string {
  if (name.startsWith('"')) return unquoteCPath(name).value;
  return name.endsWith('\t') ? name.slice(0, -1) : name;
}

function stripSide(p: string, side: 'a/' | 'b/'): string {
  return p.startsWith(side) ? p.slice(2) : p;
}

/** The new-side path of a `diff --git` header (both sides are the same path when nothing was renamed). */
function headerPath(rest: string): string | undefined {
  return parseGitHeaderPath(rest);
}

export interface ChangedLinesOptions {
  /** Limit for the git diff. Default 10 minutes. */
  timeoutMs?: number;
}

/**
 * Lines that `head` adds or changes relative to merge-base(baseRev, head).
 * Throws a one-line Error when a revision or the merge-base cannot be found
 * (shallow history, unrelated histories) or git fails.
 */
export async function changedLines(
  git: Git,
  baseRev: string,
  head: string,
  opts: ChangedLinesOptions = {}
): Promise<ChangedLines> {
  const headSha = await commitSha(git, head, 'head');
  const baseSha = await commitSha(git, baseRev, 'base');
  const notes: string[] = [];
  const mb = await git.exec([
    '--no-replace-objects',
    'merge-base',
    '--all',
    '--end-of-options',
    baseSha,
    headSha
  ]);
  const bases =
    mb.exitCode === 0 ? mb.stdout.split('\n').filter((l) => /^[0-9a-f]{40,64}$/.test(l)) : [];
  if (bases.length === 0) {
    if (mb.exitCode !== 0 && mb.exitCode !== 1)
      throw new Error(
        git.mask(
          `git merge-base failed: ${mb.spawnError ?? firstErrorLine(mb.stderr) ?? `exit code ${mb.exitCode}`}`
        )
      );
    if (await git.isShallow())
      throw new Error(
        git.mask(
          `no merge-base of ${JSON.stringify(baseRev)} and ${JSON.stringify(head)} in this shallow clone: patch coverage needs the history back to where the branch left the base (fetch with fetch-depth: 0, or git fetch --unshallow)`
        )
      );
    throw new Error(
      git.mask(
        `${JSON.stringify(baseRev)} and ${JSON.stringify(head)} have no common history (no merge-base): patch coverage needs a base the branch grew from`
      )
    );
  }
  const base = bases[0];
  if (bases.length > 1)
    notes.push(
      `${bases.length} merge-bases of ${JSON.stringify(baseRev)} and ${JSON.stringify(head)} (criss-cross merges); diffed against ${base.slice(0, 12)}, as git diff base...head does`
    );
  if (await git.isShallow()) {
    const range = await git.rangeCompleteness(base, headSha);
    if (range.shallow.length > 0 || range.missingParents.length > 0)
      throw new Error(
        git.mask(
          `the history from the merge-base ${base.slice(0, 12)} to ${JSON.stringify(head)} is cut by this shallow clone, so the merge-base may be wrong: fetch with fetch-depth: 0, or git fetch --unshallow`
        )
      );
  }

  const args = diffArgs(base, headSha);
  const parser = new UnifiedDiffParser();
  let parseError: Error | undefined;
  const r = await runCommand('git', args, {
    cwd: git.cwd,
    env: git.processEnv,
    timeoutMs: opts.timeoutMs ?? 10 * 60_000,
    // The text is parsed as it comes; only a tail is kept for errors.
    maxOutputBytes: 64 * 1024,
    onStdout: (chunk) => {
      if (parseError) return;
      try {
        parser.feed(chunk);
      } catch (err) {
        parseError = err as Error;
      }
    }
  });
  if (r.spawnError)
    throw new Error(`git could not be started (${r.spawnError}); is git installed?`);
  if (r.timedOut) throw new Error(`git diff timed out after ${opts.timeoutMs ?? 600_000} ms`);
  if (r.exitCode !== 0)
    throw new Error(
      git.mask(`git diff failed: ${firstErrorLine(r.stderr) ?? `exit code ${r.exitCode}`}`)
    );
  let files: ChangedFile[];
  try {
    if (parseError) throw parseError;
    files = parser.end();
  } catch (err) {
    throw new Error(git.mask((err as Error).message));
  }
  if (/rename detection was skipped/i.test(r.stderr))
    notes.push(
      `too many files for git's inexact rename detection (limit ${RENAME_LIMIT}): files renamed with edits count as new files`
    );
  const out: ChangedLines = { base, head: headSha, files };
  if (notes.length > 0) out.notes = notes;
  out.repoFiles = await treeFiles(git, headSha, opts.timeoutMs ?? 10 * 60_000);
  return out;
}

/**
 * Every path in a commit's tree (`git ls-tree -r`), streamed: names come
 * C-quoted (core.quotePath=true), so the text is ASCII and a chunk boundary
 * cannot split a character.
 */
async function treeFiles(git: Git, commit: string, timeoutMs: number): Promise<string[]> {
  const args = [
    '--no-replace-objects',
    '-c',
    'core.quotePath=true',
    'ls-tree',
    '-r',
    '--name-only',
    '--full-tree',
    '--end-of-options',
    commit
  ];
  const files: string[] = [];
  let carry = '';
  const take = (line: string): void => {
    if (line !== '') files.push(line.startsWith('"') ? unquoteCPath(line).value : line);
  };
  const r = await runCommand('git', args, {
    cwd: git.cwd,
    env: git.processEnv,
    timeoutMs,
    maxOutputBytes: 64 * 1024,
    onStdout: (chunk) => {
      const parts = (carry + chunk).split('\n');
      carry = parts.pop() as string;
      for (const p of parts) take(p);
    }
  });
  if (r.spawnError)
    throw new Error(`git could not be started (${r.spawnError}); is git installed?`);
  if (r.timedOut) throw new Error(`git ls-tree timed out after ${timeoutMs} ms`);
  if (r.exitCode !== 0)
    throw new Error(
      git.mask(`git ls-tree failed: ${firstErrorLine(r.stderr) ?? `exit code ${r.exitCode}`}`)
    );
  take(carry);
  return files;
}

async function commitSha(git: Git, rev: string, what: 'base' | 'head'): Promise<string> {
  const r = await git.exec([
    '--no-replace-objects',
    'rev-parse',
    '--verify',
    '--quiet',
    '--end-of-options',
    `${rev}^{commit}`
  ]);
  const sha = r.stdout.trim();
  if (r.exitCode === 0 && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(sha)) return sha;
  if (r.spawnError)
    throw new Error(`git could not be started (${r.spawnError}); is git installed?`);
  throw new Error(
    git.mask(
      `${what} revision ${JSON.stringify(rev)} is not a commit in ${git.cwd}${what === 'base' ? ' (is it fetched?)' : ''}`
    )
  );
}
