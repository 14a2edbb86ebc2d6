// CVSS base scores from vector strings. v3.0/v3.1 (section 7.1 formulas,
// Appendix A Roundup) and v2 (section 3.2.1) are implemented here from the
// FIRST specifications. CVSS v4.0 has no closed formula: its score comes from
// FIRST's MacroVector lookup table and a severity-distance interpolation, so
// it is computed by ae-cvss-calculator, which agrees with the reference
// implementation (github.com/RedHatProductSecurity/cvss-v4-calculator, after
// its rounding fix) on every one of the 104,976 base vectors. The vector
// grammar is checked here first, strictly: the library itself accepts
// incomplete vectors (scoring them 0) and repeated metrics.
//
// The library is loaded on demand (loadCvss4): in a bundle it is a chunk of
// its own, 175 KB whose evaluation took about 20 ms of every security gate's
// start (measured), and only an audit with a vulnerability to score needs it.

import type * as AeCvssExports from 'ae-cvss-calculator';

export interface CvssScore {
  version: '2.0' | '3.0' | '3.1' | '4.0';
  score: number;
}

const V3_WEIGHTS: Record<string, Record<string, number>> = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  UI: { N: 0.85, R: 0.62 },
  C: { H: 0.56, L: 0.22, N: 0 },
  I: { H: 0.56, L: 0.22, N: 0 },
  A: { H: 0.56, L: 0.22, N: 0 }
};
// Privileges Required weighs more when the scope changes.
const V3_PR: Record<'U' | 'C', Record<string, number>> = {
  U: { N: 0.85, L: 0.62, H: 0.27 },
  C: { N: 0.85, L: 0.68, H: 0.5 }
};
const V3_BASE = ['AV', 'AC', 'PR', 'UI', 'S', 'C', 'I', 'A'];

/** Parses `CVSS:3.x/AV:..` into its metrics; undefined if malformed or a base metric is missing. */
function metrics(parts: string[]): Map<string, string> | undefined {
  const m = new Map<string, string>();
  for (const p of parts) {
    const kv = /^([A-Za-z]+):([A-Za-z]+)$/.exec(p);
    if (!kv || m.has(kv[1])) return undefined; // each metric at most once
    m.set(kv[1], kv[2]);
  }
  return m;
}

/** CVSS v3.1 Roundup: the smallest one-decimal number >= x, immune to float error. */
export function roundUp31(x: number): number {
  const i = Math.round(x * 100000);
  return i % 10000 === 0 ? i / 100000 : (Math.floor(i / 10000) + 1) / 10;
}

/** CVSS v3.0 defined Roundup as a plain ceiling to one decimal. */
function roundUp30(x: number): number {
  return Math.ceil(x * 10) / 10;
}

export function cvss3BaseScore(vector: string): CvssScore | undefined {
  const [head, ...rest] = vector.trim().split('/');
  const ver = /^CVSS:3\.([01])$/.exec(head);
  if (!ver) return undefined;
  const m = metrics(rest);
  if (!m || !V3_BASE.every((k) => m.has(k))) return undefined;
  const scope = m.get('S');
  if (scope !== 'U' && scope !== 'C') return undefined;
  const w = (k: string): number | undefined => V3_WEIGHTS[k][m.get(k)!];
  const av = w('AV');
  const ac = w('AC');
  const ui = w('UI');
  const c = w('C');
  const i = w('I');
  const a = w('A');
  const pr = V3_PR[scope][m.get('PR')!];
  if ([av, ac, ui, c, i, a, pr].some((x) => x === undefined)) return undefined;
  const iss = 1 - (1 - c!) * (1 - i!) * (1 - a!);
  const impact =
    scope === 'U' ? 6.42 * iss : 7.52 * (iss - 0.029) - 3.25 * Math.pow(iss - 0.02, 15);
  const exploitability = 8.22 * av! * ac! * pr! * ui!;
  const roundUp = ver[1] === '1' ? roundUp31 : roundUp30;
  let score = 0;
  if (impact > 0) {
    score =
      scope === 'U'
        ? roundUp(Math.min(impact + exploitability, 10))
        : roundUp(Math.min(1.08 * (impact + exploitability), 10));
  }
  return { version: ver[1] === '1' ? '3.1' : '3.0', score };
}

const V2_WEIGHTS: Record<string, Record<string, number>> = {
  AV: { L: 0.395, A: 0.646, N: 1.0 },
  AC: { H: 0.35, M: 0.61, L: 0.71 },
  Au: { M: 0.45, S: 0.56, N: 0.704 },
  C: { N: 0, P: 0.275, C: 0.66 },
  I: { N: 0, P: 0.275, C: 0.66 },
  A: { N: 0, P: 0.275, C: 0.66 }
};

export function cvss2BaseScore(vector: string): CvssScore | undefined {
  // OSV writes v2 vectors bare; NVD sometimes wraps them in parentheses.
  const m = metrics(
    vector
      .trim()
      .replace(/^\(|\)$/g, '')
      .split('/')
  );
  if (!m) return undefined;
  const w: Record<string, number> = {};
  for (const k of Object.keys(V2_WEIGHTS)) {
    const v = V2_WEIGHTS[k][m.get(k) ?? ''];
    if (v === undefined) return undefined;
    w[k] = v;
  }
  const impact = 10.41 * (1 - (1 - w.C) * (1 - w.I) * (1 - w.A));
  const exploitability = 20 * w.AV * w.AC * w.Au;
  const f = impact === 0 ? 0 : 1.176;
  const raw = (0.6 * impact + 0.4 * exploitability - 1.5) * f;
  return { version: '2.0', score: Math.round(raw * 10 + 1e-9) / 10 };
}

// CVSS v4.0 metrics and their values (FIRST's CVSS v4.0 specification, section
// 7, and its JSON schema). Base metrics are mandatory and cannot be X.
const V4_BASE: Record<string, readonly string[]> = {
  AV: ['N', 'A', 'L', 'P'],
  AC: ['L', 'H'],
  AT: ['N', 'P'],
  PR: ['N', 'L', 'H'],
  UI: ['N', 'P', 'A'],
  VC: ['H', 'L', 'N'],
  VI: ['H', 'L', 'N'],
  VA: ['H', 'L', 'N'],
  SC: ['H', 'L', 'N'],
  SI: ['H', 'L', 'N'],
  SA: ['H', 'L', 'N']
};
const V4_OPTIONAL: Record<string, readonly string[]> = {
  // Threat
  E: ['X', 'A', 'P', 'U'],
  // Environmental
  CR: ['X', 'H', 'M', 'L'],
  IR: ['X', 'H', 'M', 'L'],
  AR: ['X', 'H', 'M', 'L'],
  MAV: ['X', 'N', 'A', 'L', 'P'],
  MAC: ['X', 'L', 'H'],
  MAT: ['X', 'N', 'P'],
  MPR: ['X', 'N', 'L', 'H'],
  MUI: ['X', 'N', 'P', 'A'],
  MVC: ['X', 'H', 'L', 'N'],
  MVI: ['X', 'H', 'L', 'N'],
  MVA: ['X', 'H', 'L', 'N'],
  MSC: ['X', 'H', 'L', 'N'],
  MSI: ['X', 'S', 'H', 'L', 'N'],
  MSA: ['X', 'S', 'H', 'L', 'N'],
  // Supplemental: no effect on the score, accepted so a full vector parses
  S: ['X', 'N', 'P'],
  AU: ['X', 'N', 'Y'],
  R: ['X', 'A', 'U', 'I'],
  V: ['X', 'D', 'C'],
  RE: ['X', 'L', 'M', 'H'],
  U: ['X', 'Clear', 'Green', 'Amber', 'Red']
};

/**
 * Whether `vector` is a well-formed CVSS v4.0 vector: the `CVSS:4.0` prefix,
 * every base metric once with a defined value, optional metrics at most once
 * with one of their values, nothing else. Metric order is not enforced (the
 * score does not depend on it, and real records are not always in order).
 */
export function isCvss4Vector(vector: string): boolean {
  const [head, ...parts] = vector.trim().split('/');
  if (head !== 'CVSS:4.0') return false;
  const seen = new Set<string>();
  for (const p of parts) {
    const kv = /^([A-Z]+):([A-Za-z]+)$/.exec(p);
    if (!kv || seen.has(kv[1])) return false;
    const [, name, value] = kv;
    const allowed = Object.hasOwn(V4_BASE, name)
      ? V4_BASE[name]
      : Object.hasOwn(V4_OPTIONAL, name)
        ? V4_OPTIONAL[name]
        : undefined;
    if (!allowed?.includes(value)) return false;
    seen.add(name);
  }
  return Object.keys(V4_BASE).every((k) => seen.has(k));
}

let aeCvssExports: typeof AeCvssExports | undefined;
let loadError: unknown;

/**
 * Loads the CVSS v4.0 calculator once; call it before cvss4Score (and
 * assessSeverity) meet a v4 vector. Never rejects: a failed load is reported
 * by cvss4Score, as that record's failure.
 */
export async function loadCvss4(): Promise<void> {
  if (aeCvssExports) return;
  try {
    aeCvssExports = await import(/* webpackMode: "eager" */ 'ae-cvss-calculator');
    loadError = undefined;
  } catch (err) {
    loadError = err;
  }
}

/**
 * The library is webpack-built CommonJS whose names Node's ESM loader cannot
 * see: under Node (and jest) they are on the default export, while ncc's
 * bundle (dist/) exposes them as named exports and no default. Take whichever
 * holds the class; finding neither is a packaging defect, and says so.
 */
function cvss4Class(): typeof AeCvssExports.Cvss4P0 {
  if (!aeCvssExports)
    throw new Error(
      loadError === undefined
        ? 'the CVSS v4.0 calculator was not loaded (loadCvss4)'
        : `ae-cvss-calculator did not load: ${loadError instanceof Error ? loadError.message : String(loadError)}`
    );
  const named = aeCvssExports as Partial<typeof AeCvssExports>;
  const viaDefault = (aeCvssExports as { default?: Partial<typeof AeCvssExports> }).default;
  const cls = named.Cvss4P0 ?? viaDefault?.Cvss4P0;
  if (typeof cls !== 'function')
    throw new Error('ae-cvss-calculator did not load: no Cvss4P0 class among its exports');
  return cls;
}

/**
 * The CVSS v4.0 score of a vector as written: CVSS-B for base metrics only,
 * CVSS-BT/BE/BTE when the record also carries threat or environmental
 * metrics (FIRST's nomenclature; v4.0 defines one score per vector, and it is
 * the one osv-scanner computes). Undefined if the vector is malformed; a
 * well-formed vector the library fails to score throws (a defect to see, not
 * a severity to guess).
 */
export function cvss4Score(vector: string): CvssScore | undefined {
  if (!isCvss4Vector(vector)) return undefined;
  const Cvss4P0 = cvss4Class();
  const score: unknown = new Cvss4P0(vector.trim()).calculateScores().overall;
  if (typeof score !== 'number' || !Number.isFinite(score) || score < 0 || score > 10)
    throw new Error(`ae-cvss-calculator scored ${vector} as ${String(score)}`);
  return { version: '4.0', score };
}
