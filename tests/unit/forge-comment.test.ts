// The sticky PR comment as text: the table in edge order with "not run" and
// "older commit" rows, blocking findings with a cap, notes, hostile text that
// cannot break the table, the markers or the hidden state, and a state block
// that round-trips or, garbled or tampered, is refused.
import {
  EDGE_MARKER,
  emptyEdgeState,
  escapeInline,
  isEdgeComment,
  parseEdgeState,
  readEdgeState,
  renderEdgeComment,
  withNote,
  withRow,
  type EdgeState,
  type GateRowInput
} from '../../packages/forge/src/edge-comment.ts';

const SHA1 = 'a'.repeat(40);
const SHA2 = 'b'.repeat(40);
const AT = '2025-06-01T10:00:00.000Z';

function row(p: Partial<GateRowInput> = {}): GateRowInput {
  return {
    gate: 'security',
    verdict: 'PASS',
    figure: '0 secrets, 0 new vulnerabilities',
    summary: 'no secrets in 3 added lines',
    headSha: SHA1,
    ...p
  };
}

/** The table rows of a rendered comment, by gate. */
function tableRows(body: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of body.split('\n')) {
    const m = /^\| (security|merge|coverage|image-freshness) \|/.exec(line);
    if (m) rows.set(m[1], line);
  }
  return rows;
}

/** Cell separators: pipes not escaped by a backslash. */
function separators(line: string): number {
  return (line.match(/(?<!\\)\|/g) ?? []).length;
}

function encodeState(value: unknown): string {
  return `${EDGE_MARKER}\nx\n<!-- quality-gates:state ${Buffer.from(JSON.stringify(value)).toString('base64')} -->`;
}

describe('renderEdgeComment', () => {
  test('an empty state lists every gate in edge order as not run, marker first', () => {
    const body = renderEdgeComment(emptyEdgeState());
    expect(body.split('\n')[0]).toBe(EDGE_MARKER);
    expect(isEdgeComment(body)).toBe(true);
    const gates = [...tableRows(body).keys()];
    expect(gates).toEqual(['security', 'merge', 'coverage', 'image-freshness']);
    for (const line of tableRows(body).values())
      expect(line).toMatch(/\| not run \| - \| - \| - \|$/);
    expect(body).not.toContain('Blocking findings');
  });

  test("a gate's row shows verdict, figure, summary and link; the state round-trips", () => {
    const state = withRow(
      emptyEdgeState(),
      row({
        gate: 'coverage',
        verdict: 'FAIL',
        figure: '79.50% (baseline 80.00%)',
        link: 'https://git.example/acme/app/actions/runs/7'
      }),
      AT,
      'r1'
    );
    const body = renderEdgeComment(state);
    expect(tableRows(body).get('coverage')).toBe(
      '| coverage | FAIL | 79.50% (baseline 80.00%) | no secrets in 3 added lines | [run](https://git.example/acme/app/actions/runs/7) |'
    );
    expect(tableRows(body).get('security')).toContain('not run');
    expect(parseEdgeState(body)).toEqual(state);
  });

  test('rows from an earlier head are marked as from an older commit', () => {
    let state = withRow(emptyEdgeState(), row({ headSha: SHA1 }), AT, 'r1');
    state = withRow(
      state,
      row({ gate: 'merge', verdict: 'DEFER', figure: 'class lock-busy', headSha: SHA2 }),
      AT,
      'r2'
    );
    const body = renderEdgeComment(state);
    expect(tableRows(body).get('security')).toContain('| PASS (older commit `aaaaaaa`) |');
    expect(tableRows(body).get('merge')).toContain('| DEFER |');
    expect(body).toContain('ran before the head moved to `bbbbbbb`');
  });

  test('blocking findings are listed per gate, at most ten, with the rest counted', () => {
    const blocking = Array.from({ length: 15 }, (_, i) => `src/a${i}.ts:1 generic-api-key`);
    const state = withRow(emptyEdgeState(), row({ verdict: 'FAIL', blocking }), AT, 'r1');
    const body = renderEdgeComment(state);
    expect(body).toContain('#### Blocking findings');
    expect(body).toContain('- src/a0.ts:1 generic-api-key');
    expect(body).toContain('- src/a9.ts:1 generic-api-key');
    expect(body).not.toContain('src/a10.ts');
    expect(body).toContain('- … and 5 more (see the run)');
  });

  test('STOP and needs-human notes show above the table and can be cleared', () => {
    let state = withRow(emptyEdgeState(), row({ headSha: SHA2 }), AT, 'r1');
    state = withNote(state, 'stop', 'STOP requested by alice', AT, SHA1);
    state = withNote(state, 'needsHuman', 'coverage failed 3 times', AT, SHA2);
    let body = renderEdgeComment(state);
    const stop = body.indexOf('> **Stopped:** STOP requested by alice (commit `aaaaaaa`)');
    const human = body.indexOf('> **Needs a human:** coverage failed 3 times');
    expect(stop).toBeGreaterThan(0);
    expect(human).toBeGreaterThan(stop);
    expect(human).toBeLessThan(body.indexOf('| Gate |'));
    state = withNote(state, 'stop', '', AT);
    body = renderEdgeComment(state);
    expect(body).not.toContain('Stopped');
    expect(body).toContain('Needs a human');
  });

  test('hostile text cannot break the table, the markers or the hidden state', () => {
    const hostile =
      'feat|x <script>alert(1)</script> --> `rm -rf` [pwn](javascript:alert(1)) @admin #12\nnext | line';
    const state = withRow(
      emptyEdgeState(),
      row({
        verdict: 'FAIL',
        figure: hostile,
        summary: hostile,
        blocking: [hostile, '<!-- quality-gates:state AAAA -->']
      }),
      AT,
      'r1'
    );
    const body = renderEdgeComment(state);
    const line = tableRows(body).get('security')!;
    expect(separators(line)).toBe(6);
    expect(body).not.toMatch(/<script/i);
    // The brackets are escaped, so the link syntax is text.
    expect(body).not.toMatch(/(?<!\\)\]\(javascript/);
    expect(body).not.toContain('@admin');
    expect(body).not.toContain('#12');
    expect(body).not.toContain('`rm');
    // Only the two comments this module writes open or close an HTML comment.
    expect(body.match(/<!--/g)).toHaveLength(2);
    expect(body.match(/-->/g)).toHaveLength(2);
    expect(body.split('\n').filter((l) => l.startsWith('| security'))).toHaveLength(1);
    const back = parseEdgeState(body)!;
    expect(back.gates.security!.summary).toBe(hostile.replace(/\s+/g, ' '));
    expect(back.gates.security!.blocking).toEqual([
      hostile.replace(/\s+/g, ' '),
      '<!-- quality-gates:state AAAA -->'
    ]);
  });

  test('escapeInline neutralises HTML, pipes, links, emphasis and mentions', () => {
    expect(escapeInline('a|b')).toBe('a\\|b');
    expect(escapeInline('<b>&</b>')).toBe('&lt;b&gt;&amp;&lt;/b&gt;');
    expect(escapeInline('[x](y) *z* _w_')).toBe('\\[x\\](y) \\*z\\* \\_w\\_');
    expect(escapeInline('ping @bob about #3')).toBe('ping @&#8203;bob about #&#8203;3');
    expect(escapeInline('one\ntwo')).toBe('one two');
  });

  test('a link that is not http(s) is dropped; parentheses in a link are encoded', () => {
    let state = withRow(emptyEdgeState(), row({ link: 'javascript:alert(1)' }), AT, 'r1');
    expect(state.gates.security!.link).toBeUndefined();
    expect(tableRows(renderEdgeComment(state)).get('security')).toMatch(/\| - \|$/);
    state = withRow(emptyEdgeState(), row({ link: 'https://x.example/a(b)c d' }), AT, 'r1');
    expect(tableRows(renderEdgeComment(state)).get('security')).toContain(
      '[run](https://x.example/a%28b%29c%20d)'
    );
  });

  test('a row needs a known gate, a known verdict and a full commit id', () => {
    expect(() => withRow(emptyEdgeState(), row({ headSha: 'abc' }), AT, 'r')).toThrow(
      /full commit id/
    );
    expect(() => withRow(emptyEdgeState(), row({ gate: 'lint' as 'security' }), AT, 'r')).toThrow(
      /unknown gate 'lint'/
    );
    expect(() => withRow(emptyEdgeState(), row({ verdict: 'OK' as 'PASS' }), AT, 'r')).toThrow(
      /unknown verdict/
    );
  });
});

describe('parseEdgeState', () => {
  const good: EdgeState = withRow(emptyEdgeState(), row(), AT, 'r1');

  test('absent, garbled, not JSON, or tampered: undefined, with the reason', () => {
    expect(readEdgeState(`${EDGE_MARKER}\nhand-written`)).toEqual({ problem: 'absent' });
    expect(readEdgeState(`${EDGE_MARKER}\n<!-- quality-gates:state %%% -->`).problem).toBe(
      'the state block is garbled'
    );
    expect(readEdgeState(`${EDGE_MARKER}\n<!-- quality-gates:state bm90IGpzb24= -->`).problem).toBe(
      'the state block is not base64 JSON'
    );
    expect(parseEdgeState(encodeState({ ...good, v: 2 }))).toBeUndefined();
    const badVerdict = { ...good, gates: { security: { ...good.gates.security, verdict: 'OK' } } };
    expect(readEdgeState(encodeState(badVerdict)).problem).toBe(
      "the row for 'security' is not valid"
    );
    const wrongKey = { ...good, gates: { lint: good.gates.security } };
    expect(parseEdgeState(encodeState(wrongKey))).toBeUndefined();
    const badNote = { ...good, notes: { stop: { text: 1, at: AT } } };
    expect(readEdgeState(encodeState(badNote)).problem).toBe("the note 'stop' is not valid");
    expect(parseEdgeState(encodeState(good))).toEqual(good);
  });

  test('only a comment that starts with the marker is the edge comment', () => {
    expect(isEdgeComment(`  ${EDGE_MARKER}\nbody`)).toBe(true);
    expect(isEdgeComment(`> ${EDGE_MARKER}\nquoted in a reply`)).toBe(false);
  });
});

describe('details: lines a reviewer sees whatever the verdict (patch coverage)', () => {
  const details = {
    title: 'Changed lines no test ran',
    items: ['src/calc/keys.py: 80-85', 'src/a|b.py: 3,7-9 <b>x</b> @octocat']
  };

  test('rendered under their title and gate, on a PASS too, escaped like every other text', () => {
    const state = withRow(emptyEdgeState(), row({ gate: 'coverage', details }), AT, 'r1');
    const body = renderEdgeComment(state);
    expect(body).toContain('#### Changed lines no test ran (coverage)');
    expect(body).toContain('- src/calc/keys.py: 80-85');
    expect(body).toContain('- src/a\\|b.py: 3,7-9 &lt;b&gt;x&lt;/b&gt; @&#8203;octocat');
    expect(body).not.toContain('#### Blocking findings');
    // They travel in the state and come back.
    expect(parseEdgeState(body)!.gates.coverage!.details).toEqual(details);
  });

  test('capped like blocking findings; the count of those left out adds the caller own', () => {
    const items = Array.from({ length: 14 }, (_, i) => `f${i}.py: ${i + 1}`);
    const state = withRow(
      emptyEdgeState(),
      row({ gate: 'coverage', details: { title: 'Changed lines no test ran', items, more: 6 } }),
      AT,
      'r1'
    );
    const d = state.gates.coverage!.details!;
    expect(d.items).toHaveLength(10);
    expect(d.more).toBe(10);
    expect(renderEdgeComment(state)).toContain('- … and 10 more (see the run)');
  });

  test('no items: no details kept; a tampered details block makes the state unreadable, never rendered', () => {
    const state = withRow(
      emptyEdgeState(),
      row({ gate: 'coverage', details: { title: 'x', items: [''] } }),
      AT,
      'r1'
    );
    expect(state.gates.coverage!.details).toBeUndefined();
    const bad: EdgeState = {
      v: 1,
      headSha: SHA1,
      gates: {
        coverage: {
          ...withRow(emptyEdgeState(), row({ gate: 'coverage' }), AT, 'r1').gates.coverage!,
          details: { title: 'x', items: [1 as unknown as string] }
        }
      },
      notes: {}
    };
    expect(parseEdgeState(encodeState(bad))).toBeUndefined();
  });
});
