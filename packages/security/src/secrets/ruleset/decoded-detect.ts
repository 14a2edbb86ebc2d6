// Detection through encodings, like gitleaks' --max-decode-depth (default 5):
// the text as it is; then with its JSON / notebook string escapes undone;
// then, layer by layer, with every base64, hex and percent-encoded run
// replaced in place by its decoded text (decode.ts), so `password: <base64>`
// keeps its name for the named-value rules. In a decoded layer only the
// lines holding a decoded run are searched, and only hits that touch one
// count (the rest were seen a layer earlier); each is located on the
// original text's encoded run, so the finding names the line as committed.

import { decodeLayer, mapBack, unescapeJsonStrings, type DecodeLayer } from './decode.ts';
import type { DetectContext, Ruleset, SecretHit } from './engine.ts';

export const MAX_DECODE_DEPTH = 5;

/** Layers from the text to each decoded form, the newest last. */
type Chain = DecodeLayer[];

function toOriginal(chain: Chain, start: number, end: number): [number, number] {
  let s = start;
  let e = end;
  for (let i = chain.length - 1; i >= 0; i--) [s, e] = mapBack(chain[i], s, e);
  return [s, e];
}

/** [start, end) windows of whole lines around each decoded segment, merged. */
function segmentLines(layer: DecodeLayer): [number, number][] {
  const t = layer.text;
  const out: [number, number][] = [];
  for (const seg of layer.segments) {
    const s = t.lastIndexOf('\n', seg.start - 1) + 1;
    let e = t.indexOf('\n', seg.end);
    e = e < 0 ? t.length : e + 1;
    const last = out[out.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

export function detectDecoded(
  ruleset: Ruleset,
  text: string,
  ctx: DetectContext = {},
  maxDepth = MAX_DECODE_DEPTH
): SecretHit[] {
  const hits = ruleset.detect(text, ctx);
  if (maxDepth <= 0) return hits;
  const chain: Chain = [];
  let current = text;
  const seen = new Set(hits.map((h) => `${h.ruleId}:${h.matchStart}`));
  for (let depth = 0; depth <= maxDepth; depth++) {
    // Depth 0 undoes string escapes (not an encoding: gitleaks reads them raw); then real decoding.
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
    for (const [ws, we] of segmentLines(layer)) {
      const piece = layer.text.slice(ws, we);
      const local: DetectContext = {
        pathAt: lctx.pathAt && ((o) => lctx.pathAt!(o + ws)),
        commitAt: lctx.commitAt && ((o) => lctx.commitAt!(o + ws))
      };
      for (const h of ruleset.detect(piece, local)) {
        const ms = h.matchStart + ws;
        const me = h.matchEnd + ws;
        // Only what a decoded run contributes to is new at this layer.
        if (!segs.some((g) => g.start < me && g.end > ms)) continue;
        const [os, oe] = toOriginal(chain, h.start + ws, h.end + ws);
        const [oms, ome] = toOriginal(chain, ms, me);
        const key = `${h.ruleId}:${oms}`;
        if (seen.has(key)) continue;
        seen.add(key);
        hits.push({ ...h, start: os, end: oe, matchStart: oms, matchEnd: ome });
      }
    }
    current = layer.text;
  }
  return hits;
}
