// An offline OSV database as a VulnSource: the osv.dev export layout
// (<dir>/<Ecosystem>/<ID>.json or <dir>/<Ecosystem>/all.zip), a top-level
// all.zip, or a flat directory of <ID>.json records. Each ecosystem is read
// and indexed by package name the first time a package of it is queried;
// matching is local (osv-match.ts). A corrupt record is an error naming it.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ZipError, zipEntries } from '../../../core/src/zip-reader.ts';
import { matchVuln } from './osv-match.ts';
import { OsvRecordError, validateOsvRecord, type OsvVuln } from './osv-record.ts';
import { canonicalName, pkgKey, type PackageRef } from './package-ref.ts';
import { FeedDataError, FeedUnavailableError, type VulnSource } from './vuln-source.ts';

interface RecordFile {
  where: string;
  read(): Buffer;
}

export class OsvDirectorySource implements VulnSource {
  readonly dir: string;
  private readonly indexes = new Map<string, Map<string, OsvVuln[]>>();
  private shared?: RecordFile[];
  private readonly problems: string[] = [];

  constructor(dir: string) {
    this.dir = dir;
  }

  async query(pkgs: readonly PackageRef[]): Promise<Map<string, OsvVuln[]>> {
    const out = new Map<string, OsvVuln[]>();
    for (const pkg of pkgs) {
      const index = this.indexFor(pkg.ecosystem);
      const candidates = index.get(canonicalName(pkg.ecosystem, pkg.name)) ?? [];
      const hits: OsvVuln[] = [];
      for (const v of candidates) {
        const m = matchVuln(v, pkg);
        for (const p of m.problems) if (!this.problems.includes(p)) this.problems.push(p);
        if (m.affected) hits.push(v);
      }
      out.set(pkgKey(pkg), hits);
    }
    return out;
  }

  notes(): string[] {
    return [...this.problems];
  }

  private indexFor(ecosystem: string): Map<string, OsvVuln[]> {
    const cached = this.indexes.get(ecosystem);
    if (cached) return cached;
    if (!isDir(this.dir))
      throw new FeedUnavailableError(
        `offline OSV database ${this.dir} is not a readable directory`
      );
    const own = join(this.dir, ecosystem);
    const files = [...(isDir(own) ? recordFilesIn(own) : []), ...this.sharedFiles()];
    const byId = new Map<string, OsvVuln>();
    let mentions = 0;
    for (const f of files) {
      const record = parseRecord(f);
      const entries = (record.affected ?? []).filter((a) => a.package?.ecosystem === ecosystem);
      if (entries.length === 0) continue;
      mentions++;
      const seen = byId.get(record.id);
      // The same record in two places (per-ecosystem and all.zip): keep the newer.
      if (!seen || (record.modified ?? '') > (seen.modified ?? '')) byId.set(record.id, record);
    }
    if (mentions === 0 && !isDir(own)) {
      throw new FeedUnavailableError(
        `offline OSV database ${this.dir} has no ${ecosystem} records (expected ${ecosystem}/*.json, ${ecosystem}/all.zip or flat *.json records)`
      );
    }
    const index = new Map<string, OsvVuln[]>();
    for (const record of byId.values()) {
      const names = new Set(
        (record.affected ?? [])
          .filter((a) => a.package?.ecosystem === ecosystem)
          .map((a) => canonicalName(ecosystem, a.package!.name))
      );
      for (const n of names) {
        const list = index.get(n) ?? [];
        list.push(record);
        index.set(n, list);
      }
    }
    this.indexes.set(ecosystem, index);
    return index;
  }

  /** Records at the top level, which may cover any ecosystem; listed once. */
  private sharedFiles(): RecordFile[] {
    this.shared ??= recordFilesIn(this.dir);
    return this.shared;
  }
}

function recordFilesIn(dir: string): RecordFile[] {
  const out: RecordFile[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (name.endsWith('.json') && statSync(path).isFile()) {
      out.push({ where: path, read: () => readFileSync(path) });
    } else if (name === 'all.zip' && statSync(path).isFile()) {
      let entries;
      try {
        entries = zipEntries(readFileSync(path));
      } catch (err) {
        throw new FeedDataError(`offline OSV archive ${path}: ${(err as Error).message}`);
      }
      for (const e of entries) {
        if (e.name.endsWith('.json'))
          out.push({ where: `${path}:${e.name}`, read: () => e.read() });
      }
    }
  }
  return out;
}

function parseRecord(f: RecordFile): OsvVuln {
  let json: unknown;
  try {
    json = JSON.parse(f.read().toString('utf8'));
  } catch (err) {
    if (err instanceof ZipError)
      throw new FeedDataError(`offline OSV record ${f.where}: ${err.message}`);
    throw new FeedDataError(
      `offline OSV record ${f.where} is not valid JSON (${(err as Error).message})`
    );
  }
  try {
    return validateOsvRecord(json);
  } catch (err) {
    if (err instanceof OsvRecordError)
      throw new FeedDataError(
        `offline OSV record ${f.where} is not a valid OSV record: ${err.message}`
      );
    throw err;
  }
}

function isDir(p: string): boolean {
  return existsSync(p) && statSync(p).isDirectory();
}
