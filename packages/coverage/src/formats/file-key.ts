// One source file, one key: a report that names the same file two ways
// (`src/a.c` and `./src/a.c`, `C:\x\a.c` and `c:/x/a.c`) counts it once. The
// key is lexical only: backslashes become slashes, `.` segments and repeated
// slashes go, a drive letter is upper-cased; `..` is kept (resolving it could
// cross a symlink), nothing is made absolute, and the case of the rest is kept.

/** The normalised form of a file path as a report writes it. */
export function fileKey(path: string): string {
  let p = path.includes('\\') ? path.replace(/\\/g, '/') : path;
  if (p.length >= 2 && p[1] === ':' && /^[a-z]$/.test(p[0])) p = p[0].toUpperCase() + p.slice(1);
  // A UNC path (//server/share) keeps its leading pair of slashes.
  const lead = p.startsWith('//') && !p.startsWith('///') ? '//' : p.startsWith('/') ? '/' : '';
  if (!p.includes('//') && !p.includes('./') && !p.endsWith('/.') && !p.endsWith('/')) return p;
  const segments = p.split('/').filter((s) => s !== '' && s !== '.');
  const key = lead + segments.join('/');
  return key === '' || key === '//' ? path : key;
}

/**
 * File keys for one report, remembering when two spellings became one key,
 * so the reader can say so. Keys are cached per spelling: readers that call
 * this once per line (Go blocks) pay a Map lookup, not a normalisation.
 */
export class FileKeys {
  private readonly keys = new Map<string, string>();
  private readonly firstSpelling = new Map<string, string>();
  private mergedCount = 0;
  private example: [string, string] | null = null;

  key(path: string): string {
    const known = this.keys.get(path);
    if (known !== undefined) return known;
    const k = fileKey(path);
    this.keys.set(path, k);
    const first = this.firstSpelling.get(k);
    if (first === undefined) this.firstSpelling.set(k, path);
    else {
      this.mergedCount++;
      this.example ??= [first, path];
    }
    return k;
  }

  /** A note when some file was written in more than one spelling, else null. */
  note(): string | null {
    if (this.example === null) return null;
    const [a, b] = this.example;
    const more = this.mergedCount > 1 ? ` (and ${this.mergedCount - 1} more)` : '';
    return `${JSON.stringify(b)} names the same file as ${JSON.stringify(a)}${more}; each file is counted once`;
  }
}
