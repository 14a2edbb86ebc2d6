// Detection through encodings, like gitleaks' --max-decode-depth (default 5):
// the text as it is; then with its JSON / notebook string escapes undone;
// then, layer by layer, with every base64, hex and percent-encoded run
// replaced in place by its decoded text (decode.ts), so `password: <base64>`
// keeps its name for the named-value rules. In a decoded layer only the
// lines holding a decoded run are searched, and only hits that touch one
// count (the rest were seen a layer earlier); each is located on the
// original text's encoded run, so the finding names the line as committed.
//
// Speed: a decoded layer of a whole megabyte text would be a copy of it per
// layer. Instead one pass over the text finds where anything decodes (string
// escapes, encoded runs: positions only), and the layers are built for those
// lines alone. That is the same result: runs lie within a line (none spans a
// newline), a line holding no escape and no decodable run is the same in
// every layer, and a later layer can only decode where an earlier one did.

import {
  decodeLayer,
  mapBack,
  mayDecodeFurther,
  unescapeJsonStrings,
  type DecodeLayer,
  type DecodedSegment
} from './decode.ts';
import { NEAR, type DetectContext, type Ruleset, type SecretHit } from './engine.ts';

export const MAX_DECODE_DEPTH = 5;

/** Layers from the text to each decoded form, the newest last. */
type Chain = DecodeLayer[];

function toOriginal(chain: Chain, start: number, end: number): [number, number] {
  let s = start;
  let e = end;
  for (let i = chain.length - 1; i >= 0; i--) [s, e] = mapBack(chain[i], s, e);
  return [s, e];
}

/**
 * [start, end) windows of whole lines of `text` around each [start, end)
 * span (spans in order of start), merged. Linear: a span inside the last
 * window costs nothing, and a line is searched for its ends once (a minified
 * line can be megabytes long and hold thousands of spans).
 */
function lineWindows(text: string, spans: Iterable<[number, number]>): [number, number][] {
  const out: [number, number][] = [];
  const lineEnd = (from: number): number => {
    const e = text.indexOf('\n', from);
    return e < 0 ? text.length : e + 1;
  };
  for (const [a, b] of spans) {
    const last = out[out.length - 1];
    if (last && a < last[1]) {
      if (b > last[1]) last[1] = lineEnd(b - 1);
      continue;
    }
    // The last window ends just after a newline: the search back stops there at the latest.
    const s = text.lastIndexOf('\n', a - 1) + 1;
    out.push([s, lineEnd(Math.max(a, b - 1))]);
  }
  return out;
}

/**
 * [start, end) windows around each span (in order of start), merged: the
 * span's lines, but at most `near` characters before it and 2 * near after
 * (what the rules themselves look at around a keyword; engine.ts NEAR).
 */
function nearWindows(
  text: string,
  spans: Iterable<[number, number]>,
  near: number
): [number, number][] {
  const out: [number, number][] = [];
  for (const [a, b] of spans) {
    let e = b;
    const eMax = Math.min(text.length, b + 2 * near);
    while (e < eMax && text.charCodeAt(e) !== 10) e++;
    if (e < text.length && e < eMax) e++; // the newline
    const last = out[out.length - 1];
    if (last && a <= last[1]) {
      last[1] = Math.max(last[1], e);
      continue;
    }
    let s = a;
    const sMin = Math.max(0, a - near);
    while (s > sMin && text.charCodeAt(s - 1) !== 10) s--;
    out.push([s, e]);
  }
  return out;
}

const segmentSpans = (segs: readonly DecodedSegment[], orig: boolean): [number, number][] =>
  segs.map((g) => (orig ? [g.origStart, g.origEnd] : [g.start, g.end]));

export function detectDecoded(
  ruleset: Ruleset,
  text: string,
  ctx: DetectContext = {},
  maxDepth = MAX_DECODE_DEPTH
): SecretHit[] {
  // One pass finds the keywords for the rules and the runs for decoding.
  const found = ruleset.survey(text);
  const hits = ruleset.detect(text, ctx, found);
  if (maxDepth <= 0) return hits;
  // Where anything decodes in the text as committed: escapes, and encoded runs.
  const escapes = unescapeJsonStrings(text, undefined, true)?.segments ?? [];
  const runs = decodeLayer(text, undefined, true, found?.runs)?.segments ?? [];
  if (escapes.length === 0 && runs.length === 0) return hits;
  const spans = [...segmentSpans(escapes, true), ...segmentSpans(runs, true)].sort(
    (a, b) => a[0] - b[0]
  );
  const seen = new Set(hits.map((h) => `${h.ruleId}:${h.matchStart}`));
  for (const [ws, we] of lineWindows(text, spans)) {
    const at = (o: number): number => o + ws;
    const pctx: DetectContext = {
      pathAt: ctx.pathAt && ((o) => ctx.pathAt!(at(o))),
      commitAt: ctx.commitAt && ((o) => ctx.commitAt!(at(o)))
    };
    for (const h of detectLayers(ruleset, text.slice(ws, we), pctx, maxDepth)) {
      const moved = {
        ...h,
        start: at(h.start),
        end: at(h.end),
        matchStart: at(h.matchStart),
        matchEnd: at(h.matchEnd)
      };
      const key = `${moved.ruleId}:${moved.matchStart}`;
      if (seen.has(key)) continue;
      seen.add(key);
      hits.push(moved);
    }
  }
  return hits;
}

/** The hits of `piece`'s decoded layers (not of the piece itself), on the piece's own offsets. */
function detectLayers(
  ruleset: Ruleset,
  piece: string,
  ctx: DetectContext,
  maxDepth: number
): SecretHit[] {
  const hits: SecretHit[] = [];
  const chain: Chain = [];
  let current = piece;
  for (let depth = 0; depth <= maxDepth; depth++) {
    // Depth 0 undoes string escapes (not an encoding: gitleaks reads them raw); then real
    // decoding, a further layer only where the last one decoded something that may decode again.
    if (depth >= 2 && !mayDecodeFurther(chain[chain.length - 1])) break;
    const layer = depth === 0 ? unescapeJsonStrings(current) : decodeLayer(current);
    if (!layer || layer.segments.length === 0) {
      if (depth === 0) continue;
      break;
    }
    chain.push(layer);
    const lctx: DetectContext = {
      pathAt: ctx.pathAt && ((o) => ctx.pathAt!(toOriginal(chain, o, o + 1)[0])),
      commitAt: ctx.commitAt && ((o) => ctx.commitAt!(toOriginal(chain, o, o + 1)[0]))
    };
    const segs = layer.segments;
    for (const [ws, we] of nearWindows(layer.text, segmentSpans(segs, false), NEAR)) {
      const local: DetectContext = {
        pathAt: lctx.pathAt && ((o) => lctx.pathAt!(o + ws)),
        commitAt: lctx.commitAt && ((o) => lctx.commitAt!(o + ws))
      };
      for (const h of ruleset.detect(layer.text.slice(ws, we), local)) {
        const ms = h.matchStart + ws;
        const me = h.matchEnd + ws;
        // Only what a decoded run contributes to is new at this layer.
        if (!segs.some((g) => g.start < me && g.end > ms)) continue;
        const [os, oe] = toOriginal(chain, h.start + ws, h.end + ws);
        const [oms, ome] = toOriginal(chain, ms, me);
        hits.push({ ...h, start: os, end: oe, matchStart: oms, matchEnd: ome });
      }
    }
    current = layer.text;
  }
  return hits;
}
