// An offline OSV database as a VulnSource: the osv.dev export layout
// (<dir>/<Ecosystem>/<ID>.json or <dir>/<Ecosystem>/all.zip), a top-level
// all.zip, or a flat directory of <ID>.json records. Each ecosystem is read
// and indexed by package name the first time a package of it is queried;
// matching is local (osv-match.ts). Nothing here stops the audit: a corrupt
// record (or archive) is skipped and named, an ecosystem the database does
// not hold leaves its packages not looked up, a record that cannot be
// evaluated for one package is named and the other records still count.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describeError } from '../../../core/src/errors.ts';
import { ZipError, zipEntries } from '../../../core/src/zip-reader.ts';
import { matchVuln } from './osv-match.ts';
import { OsvRecordError, validateOsvRecord, type OsvVuln } from './osv-record.ts';
import { canonicalName, pkgKey, type PackageRef } from './package-ref.ts';
import {
  timeLeft,
  type LookupFailure,
  type QueryOptions,
  type QueryResult,
  type VulnSource
} from './vuln-source.ts';

interface RecordFile {
  where: string;
  read(): Buffer;
}

/** A record file or archive that could not be read: skipped, and said. */
interface Skipped {
  what: string;
  problem: string;
}

interface EcosystemIndex {
  /** Records by canonical package name; undefined when the database lacks the ecosystem. */
  byName?: Map<string, OsvVuln[]>;
  /** Why the ecosystem could not be read, when byName is undefined. */
  missing?: { problem: string; short: string };
  skipped: Skipped[];
}

export class OsvDirectorySource implements VulnSource {
  readonly dir: string;
  private readonly indexes = new Map<string, EcosystemIndex>();
  private shared?: { files: RecordFile[]; skipped: Skipped[] };
  private readonly problems: string[] = [];

  private readonly match: typeof matchVuln;

  /** `match` evaluates one record for one package (tests inject a failing one). */
  constructor(dir: string, opts: { match?: typeof matchVuln } = {}) {
    this.dir = dir;
    this.match = opts.match ?? matchVuln;
  }

  async query(pkgs: readonly PackageRef[], opts: QueryOptions = {}): Promise<QueryResult> {
    const answers = new Map<string, OsvVuln[]>();
    const failures: LookupFailure[] = [];
    const byEcosystem = new Map<string, PackageRef[]>();
    for (const p of pkgs) {
      const list = byEcosystem.get(p.ecosystem) ?? [];
      list.push(p);
      byEcosystem.set(p.ecosystem, list);
    }
    for (const [ecosystem, group] of byEcosystem) {
      const keys = [...new Set(group.map(pkgKey))];
      if (timeLeft(opts.deadline) === 0) {
        failures.push({
          kind: 'budget',
          what: `offline OSV database ${this.dir} (${ecosystem})`,
          problem: `the audit's time budget ran out before ${ecosystem} was read`,
          keys,
          short: 'time budget ran out'
        });
        continue;
      }
      const index = this.indexFor(ecosystem);
      for (const s of index.skipped)
        if (!failures.some((f) => f.kind === 'record' && f.what === s.what))
          failures.push({ kind: 'record', what: s.what, problem: s.problem, keys: [] });
      if (!index.byName) {
        failures.push({
          kind: 'ecosystem',
          what: ecosystem,
          problem: index.missing!.problem,
          keys,
          short: index.missing!.short
        });
        continue;
      }
      for (const pkg of group) {
        const candidates = index.byName.get(canonicalName(pkg.ecosystem, pkg.name)) ?? [];
        const hits: OsvVuln[] = [];
        for (const v of candidates) {
          // One record that cannot be evaluated is that record's failure, not the lookup's.
          let m;
          try {
            m = this.match(v, pkg);
          } catch (err) {
            failures.push({
              kind: 'record',
              what: `OSV record ${v.id}`,
              problem: `could not be evaluated for ${pkg.name}@${pkg.version} (${describeError(err)}); that record is left out for it`,
              keys: [pkgKey(pkg)]
            });
            continue;
          }
          for (const p of m.problems) if (!this.problems.includes(p)) this.problems.push(p);
          if (m.affected) hits.push(v);
        }
        answers.set(pkgKey(pkg), hits);
      }
    }
    return { answers, failures };
  }

  notes(): string[] {
    return [...this.problems];
  }

  private indexFor(ecosystem: string): EcosystemIndex {
    const cached = this.indexes.get(ecosystem);
    if (cached) return cached;
    let index: EcosystemIndex;
    try {
      index = this.buildIndex(ecosystem);
    } catch (err) {
      // A directory that cannot be listed, a file that cannot be read: this ecosystem only.
      index = {
        missing: {
          problem: `offline OSV database ${this.dir} could not be read (${describeError(err)}); its packages were not looked up`,
          short: 'offline OSV database not readable'
        },
        skipped: []
      };
    }
    this.indexes.set(ecosystem, index);
    return index;
  }

  private buildIndex(ecosystem: string): EcosystemIndex {
    if (!isDir(this.dir)) {
      return {
        missing: {
          problem: `offline OSV database ${this.dir} is not a readable directory`,
          short: 'offline OSV database not readable'
        },
        skipped: []
      };
    }
    const own = join(this.dir, ecosystem);
    const skipped: Skipped[] = [];
    const ownFiles = isDir(own) ? recordFilesIn(own, skipped) : [];
    const shared = this.sharedFiles();
    skipped.push(...shared.skipped);
    const byId = new Map<string, OsvVuln>();
    let mentions = 0;
    for (const f of [...ownFiles, ...shared.files]) {
      const record = parseRecord(f, skipped);
      if (!record) continue;
      const entries = (record.affected ?? []).filter((a) => a.package?.ecosystem === ecosystem);
      if (entries.length === 0) continue;
      mentions++;
      const seen = byId.get(record.id);
      // The same record in two places (per-ecosystem and all.zip): keep the newer.
      if (!seen || (record.modified ?? '') > (seen.modified ?? '')) byId.set(record.id, record);
    }
    if (mentions === 0 && !isDir(own)) {
      return {
        missing: {
          problem: `not in the offline OSV database ${this.dir} (no ${ecosystem}/*.json, ${ecosystem}/all.zip or flat *.json records of it); its packages were not looked up`,
          short: `${ecosystem} not in the offline database`
        },
        skipped
      };
    }
    const byName = new Map<string, OsvVuln[]>();
    for (const record of byId.values()) {
      const names = new Set(
        (record.affected ?? [])
          .filter((a) => a.package?.ecosystem === ecosystem)
          .map((a) => canonicalName(ecosystem, a.package!.name))
      );
      for (const n of names) {
        const list = byName.get(n) ?? [];
        list.push(record);
        byName.set(n, list);
      }
    }
    return { byName, skipped };
  }

  /** Records at the top level, which may cover any ecosystem; listed once. */
  private sharedFiles(): { files: RecordFile[]; skipped: Skipped[] } {
    if (!this.shared) {
      const skipped: Skipped[] = [];
      this.shared = { files: recordFilesIn(this.dir, skipped), skipped };
    }
    return this.shared;
  }
}

function recordFilesIn(dir: string, skipped: Skipped[]): RecordFile[] {
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
        // The archive is skipped; the records beside it still count.
        skipped.push({
          what: `offline OSV archive ${path}`,
          problem: `${describeError(err)}; its records were skipped`
        });
        continue;
      }
      for (const e of entries) {
        if (e.name.endsWith('.json'))
          out.push({ where: `${path}:${e.name}`, read: () => e.read() });
      }
    }
  }
  return out;
}

/** The record in `f`, or undefined (and `f` named in `skipped`) when it cannot be read. */
function parseRecord(f: RecordFile, skipped: Skipped[]): OsvVuln | undefined {
  const what = `offline OSV record ${f.where}`;
  let json: unknown;
  try {
    json = JSON.parse(f.read().toString('utf8'));
  } catch (err) {
    skipped.push({
      what,
      problem:
        err instanceof ZipError
          ? `${err.message}; skipped`
          : `is not valid JSON (${describeError(err)}); skipped`
    });
    return undefined;
  }
  try {
    return validateOsvRecord(json);
  } catch (err) {
    skipped.push({
      what,
      problem:
        err instanceof OsvRecordError
          ? `is not a valid OSV record: ${err.message}; skipped`
          : `could not be read (${describeError(err)}); skipped`
    });
    return undefined;
  }
}

function isDir(p: string): boolean {
  return existsSync(p) && statSync(p).isDirectory();
}
