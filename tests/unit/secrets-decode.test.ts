import { createHash, generateKeyPairSync, randomBytes, randomInt, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  BASE64_RUN,
  decodeLayer,
  mapBack,
  mayDecodeFurther,
  unescapeJsonStrings,
  type DecodeLayer
} from '../../packages/security/src/secrets/ruleset/decode.ts';
import { KeywordAutomaton } from '../../packages/security/src/secrets/ruleset/keywords.ts';

// Every value planted here is generated at run time; none is a real secret.

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomValue(length: number, alphabet = ALNUM): string {
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const b64url = (s: string): string => Buffer.from(s).toString('base64url');
const hex = (s: string): string => Buffer.from(s).toString('hex');

/** The layer is well formed: segments in order, and undoing them gives the input back. */
function expectConsistent(input: string, layer: DecodeLayer): void {
  let previousEnd = 0;
  let previousOrigEnd = 0;
  let rebuilt = '';
  for (const seg of layer.segments) {
    expect(seg.start).toBeGreaterThanOrEqual(previousEnd);
    expect(seg.origStart).toBeGreaterThanOrEqual(previousOrigEnd);
    expect(seg.end).toBeGreaterThan(seg.start);
    expect(seg.origEnd).toBeGreaterThan(seg.origStart);
    // Text between segments is copied unchanged.
    expect(layer.text.slice(previousEnd, seg.start)).toBe(
      input.slice(previousOrigEnd, seg.origStart)
    );
    rebuilt += layer.text.slice(previousEnd, seg.start) + input.slice(seg.origStart, seg.origEnd);
    previousEnd = seg.end;
    previousOrigEnd = seg.origEnd;
  }
  rebuilt += layer.text.slice(previousEnd);
  expect(rebuilt).toBe(input);
}

/** The layer shows `plain`; mapping it back lands on `encoded` in the input. Returns the layer. */
function expectDecoded(
  input: string,
  layer: DecodeLayer | undefined,
  plain: string,
  encoded: string
): DecodeLayer {
  expect(layer).toBeDefined();
  const l = layer as DecodeLayer;
  expectConsistent(input, l);
  const at = l.text.indexOf(plain);
  expect(at).toBeGreaterThanOrEqual(0);
  const [start, end] = mapBack(l, at, at + plain.length);
  expect(input.slice(start, end)).toBe(encoded);
  expect(input.indexOf(encoded)).toBe(start);
  return l;
}

describe('unescapeJsonStrings', () => {
  it('undoes a notebook source line so aws_secret_access_key = "..." is visible', () => {
    const value = randomValue(40);
    const notebook = JSON.stringify(
      {
        cells: [
          {
            cell_type: 'code',
            metadata: {},
            source: ['import boto3\n', 'x = 1\n', `aws_secret_access_key = "${value}"\n`]
          }
        ],
        nbformat: 4
      },
      null,
      1
    );
    expect(notebook).toContain(`aws_secret_access_key = \\"${value}\\"\\n`);
    const layer = expectDecoded(notebook, unescapeJsonStrings(notebook), value, value);
    expect(layer.text).toContain(`aws_secret_access_key = "${value}"\n`);
    expect(layer.text).toContain('"x = 1\n"');
    expect(layer.segments.every((s) => s.encoding === 'json-escape')).toBe(true);
  });

  it('turns a \\n escape into a line break so a keyword right after it starts a line', () => {
    const value = randomValue(32);
    const json = JSON.stringify({ config: `debug=true\npassword=${value}\nretries=3` });
    expect(json).toContain('\\npassword=');
    const layer = expectDecoded(
      json,
      unescapeJsonStrings(json),
      `password=${value}`,
      `password=${value}`
    );
    expect(layer.text.split('\n')).toContain(`password=${value}`);
  });

  it('undoes aws_secret_access_key=\\"...\\" inside a JSON string, mapping the quotes to their escapes', () => {
    const value = randomValue(40);
    const json = `{"Environment": {"Variables": {"INIT": "aws_secret_access_key=\\"${value}\\" ./run.sh"}}}`;
    const layer = expectDecoded(json, unescapeJsonStrings(json), `"${value}"`, `\\"${value}\\"`);
    expect(layer.text).toContain(`aws_secret_access_key="${value}" ./run.sh`);
  });

  it('undoes \\/ inside a value', () => {
    const value = `${randomValue(12)}/${randomValue(16)}/${randomValue(8)}`;
    const escaped = value.replace(/\//g, '\\/');
    const json = `{"url": "https:\\/\\/api.example.test\\/v1", "secret": "${escaped}"}`;
    const layer = expectDecoded(json, unescapeJsonStrings(json), value, escaped);
    expect(layer.text).toContain('"https://api.example.test/v1"');
  });

  it('undoes \\uXXXX escapes, joining surrogate pairs and leaving lone surrogates and unknown escapes', () => {
    const json = '{"a": "\\u0070\\u0061ss \\ud83d\\ude00 \\ud800 x \\q \\\\ \\t"}';
    const layer = unescapeJsonStrings(json);
    expect(layer).toBeDefined();
    expectConsistent(json, layer as DecodeLayer);
    expect(layer?.text).toBe('{"a": "pass \u{1F600} \\ud800 x \\q \\ \t"}');
  });

  it('maps a range inside a run of escapes to the whole run', () => {
    const json = '["a\\n\\t\\"b"]';
    const layer = unescapeJsonStrings(json) as DecodeLayer;
    expect(layer.text).toBe('["a\n\t"b"]');
    const tab = layer.text.indexOf('\t');
    expect(json.slice(...mapBack(layer, tab, tab + 1))).toBe('\\n\\t\\"');
    const b = layer.text.indexOf('b');
    expect(json.slice(...mapBack(layer, b, b + 1))).toBe('b');
  });

  it('leaves text alone when no double-quoted string holds a backslash', () => {
    expect(unescapeJsonStrings('{"a": "b", "c": [1, 2]}')).toBeUndefined();
    expect(unescapeJsonStrings('path = C:\\Users\\me')).toBeUndefined();
    expect(unescapeJsonStrings("const s = 'a\\nb';")).toBeUndefined();
    // An unterminated string stops at the line end and is not decoded.
    expect(unescapeJsonStrings('"a\\nb\n" and more')).toBeUndefined();
    expect(unescapeJsonStrings('"only \\" escaped quote')).toBeUndefined();
    expect(unescapeJsonStrings('')).toBeUndefined();
  });

  it('respects maxSegments and maxDecodedBytes', () => {
    const json = Array.from({ length: 10 }, (_, i) => `"k${i}\\nv"`).join(',');
    expect(unescapeJsonStrings(json)?.segments).toHaveLength(10);
    const capped = unescapeJsonStrings(json, {
      maxDecodedBytes: 1_000_000,
      maxSegments: 3
    }) as DecodeLayer;
    expect(capped.segments).toHaveLength(3);
    expectConsistent(json, capped);
    expect(capped.text).toContain('"k3\\nv"');
    const budget = unescapeJsonStrings(json, {
      maxDecodedBytes: 2,
      maxSegments: 100
    }) as DecodeLayer;
    expect(budget.segments).toHaveLength(2);
    expect(unescapeJsonStrings(json, { maxDecodedBytes: 0, maxSegments: 100 })).toBeUndefined();
  });
});

describe('decodeLayer', () => {
  it('decodes a Kubernetes Secret data value in place', () => {
    const value = randomValue(26);
    const encoded = b64(value);
    expect(encoded.endsWith('=')).toBe(true);
    const yaml = [
      'apiVersion: v1',
      'kind: Secret',
      'metadata:',
      '  name: db-credentials',
      '  namespace: payments',
      'type: Opaque',
      'data:',
      `  username: ${b64('app')}`,
      `  password: ${encoded}`,
      ''
    ].join('\n');
    const layer = expectDecoded(yaml, decodeLayer(yaml), value, encoded);
    expect(layer.text).toContain(`\n  password: ${value}\n`);
    expect(layer.text).toContain('name: db-credentials');
    expect(layer.segments).toHaveLength(1);
    expect(layer.segments[0].encoding).toBe('base64');
  });

  it('decodes a docker config.json auth (base64 of user:token)', () => {
    const token = randomValue(36);
    const auth = b64(`ci-bot:${token}`);
    const config = JSON.stringify(
      { auths: { 'registry.example.test': { auth } }, credsStore: 'desktop' },
      null,
      2
    );
    const layer = expectDecoded(config, decodeLayer(config), token, auth);
    expect(layer.text).toContain(`"auth": "ci-bot:${token}"`);
  });

  it.each([
    [
      'ec',
      () =>
        generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
          type: 'pkcs8',
          format: 'pem'
        })
    ],
    [
      'rsa',
      () =>
        generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
          type: 'pkcs1',
          format: 'pem'
        })
    ]
  ])('decodes a kubeconfig client-key-data holding a %s PEM private key', (_kind, makeKey) => {
    const pem = String(makeKey());
    const keyData = b64(pem);
    const kubeconfig = [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- cluster:',
      '    server: https://k8s.example.test:6443',
      '  name: prod',
      'users:',
      '- name: admin',
      '  user:',
      `    client-key-data: ${keyData}`,
      'current-context: prod',
      ''
    ].join('\n');
    const layer = expectDecoded(kubeconfig, decodeLayer(kubeconfig), pem, keyData);
    expect(layer.text).toMatch(/client-key-data: -----BEGIN (RSA |EC )?PRIVATE KEY-----\n/);
    // A further pass leaves the PEM body (base64 of DER, binary) as it is.
    const again = decodeLayer(layer.text);
    expect(again?.text ?? layer.text).toContain(pem);
  });

  it('decodes url-safe base64 without padding', () => {
    // `?>~` in a row: one of them lands last in a 3-byte group and encodes as `-` or `_`.
    const value = `${randomValue(randomInt(18, 24))}?>~${randomValue(7)}`;
    const encoded = b64url(value);
    expect(encoded).toMatch(/[-_]/);
    expect(encoded).not.toContain('=');
    const text = `SESSION_SECRET=${encoded}\n`;
    const layer = expectDecoded(text, decodeLayer(text), value, encoded);
    expect(layer.text).toBe(`SESSION_SECRET=${value}\n`);
  });

  it('decodes a base64 value at the end of a URL path', () => {
    // base64 of ASCII letters and digits never holds `+` or `/`.
    const value = randomValue(30);
    const encoded = b64(value);
    expect(encoded).not.toMatch(/[+/]/);
    const text = `curl https://hooks.example.test/services/${encoded}`;
    expectDecoded(text, decodeLayer(text), value, encoded);
  });

  it('decodes hex values, bare and 0x-prefixed', () => {
    const value = randomValue(24);
    const other = randomValue(20);
    const text = `api_key = "${hex(value)}"\nSIGNING_KEY=0x${hex(other)}\n`;
    const layer = decodeLayer(text) as DecodeLayer;
    expectDecoded(text, layer, value, hex(value));
    expectDecoded(text, layer, other, hex(other));
    expect(layer.text).toBe(`api_key = "${value}"\nSIGNING_KEY=0x${other}\n`);
    expect(layer.segments.map((s) => s.encoding)).toEqual(['hex', 'hex']);
  });

  it('decodes percent-encoded values, keeping the text around them', () => {
    const value = `${randomValue(12)}@${randomValue(8)}:${randomValue(6)}/#`;
    const encoded = encodeURIComponent(value);
    expect(encoded.match(/%[0-9A-F]{2}/g)?.length).toBeGreaterThanOrEqual(3);
    const text = `DATABASE_URL=postgres://app:${encoded}@db.internal:5432/app?sslmode=require`;
    const layer = expectDecoded(text, decodeLayer(text), value, encoded);
    expect(layer.text).toBe(
      `DATABASE_URL=postgres://app:${value}@db.internal:5432/app?sslmode=require`
    );
    expect(layer.segments[0].encoding).toBe('percent');
  });

  it('needs three %XX escapes and printable UTF-8 for percent encoding', () => {
    expect(decodeLayer('a=%41%42 and 100% sure, %zz%zz%zz')).toBeUndefined();
    expect(decodeLayer('q=%00%01%02%03%04')).toBeUndefined();
    expect(decodeLayer('q=%ff%fe%fd%fc')).toBeUndefined();
    expect(decodeLayer('name=caf%C3%A9%20cr%C3%A8me')?.text).toBe('name=café crème');
  });

  it('handles nested encodings with a second pass, and maps back through both', () => {
    const value = randomValue(24);
    const inner = `password=${hex(value)}`;
    const outer = b64(inner);
    const text = `blob: ${outer}\n`;
    const first = decodeLayer(text) as DecodeLayer;
    expect(first.text).toBe(`blob: ${inner}\n`);
    const second = decodeLayer(first.text) as DecodeLayer;
    expect(second.text).toBe(`blob: password=${value}\n`);
    const at = second.text.indexOf(value);
    const [s1, e1] = mapBack(second, at, at + value.length);
    const [s0, e0] = mapBack(first, s1, e1);
    expect(text.slice(s0, e0)).toBe(outer);
  });

  it('decodes base64 that sat in a JSON string with escaped slashes after unescaping', () => {
    // Three `?` in a row: one lands last in a 3-byte group, whose low six bits (63) encode as `/`.
    const value = `${randomValue(randomInt(20, 30))}???${randomValue(8)}`;
    const encoded = b64(value);
    expect(encoded).toContain('/');
    const json = `{"token": "${encoded.replace(/\//g, '\\/')}"}`;
    const unescaped = unescapeJsonStrings(json) as DecodeLayer;
    const decoded = decodeLayer(unescaped.text) as DecodeLayer;
    expect(decoded.text).toBe(`{"token": "${value}"}`);
    const at = decoded.text.indexOf(value);
    const [s, e] = mapBack(unescaped, ...mapBack(decoded, at, at + value.length));
    expect(json.slice(s, e)).toBe(encoded.replace(/\//g, '\\/'));
  });

  it('respects maxSegments and maxDecodedBytes', () => {
    const values = Array.from({ length: 5 }, () => randomValue(24));
    const text = values.map((v, i) => `k${i}: ${b64(v)}`).join('\n');
    expect(decodeLayer(text)?.segments).toHaveLength(5);
    const capped = decodeLayer(text, { maxDecodedBytes: 1 << 20, maxSegments: 2 }) as DecodeLayer;
    expect(capped.segments).toHaveLength(2);
    expectConsistent(text, capped);
    expect(capped.text).toContain(b64(values[2]));
    const budget = decodeLayer(text, { maxDecodedBytes: 50, maxSegments: 100 }) as DecodeLayer;
    expect(budget.segments).toHaveLength(2);
    expect(decodeLayer(text, { maxDecodedBytes: 10, maxSegments: 100 })).toBeUndefined();
  });

  describe('leaves alone', () => {
    it('ordinary code', () => {
      const code = [
        "import { getElementsByClassName } from '../../packages/security/src/secrets/ruleset/engine.ts';",
        'export async function internationalizationMiddleware(request: IncomingMessage): Promise<void> {',
        '  const configurationDirectory = path.join(process.env.HOME ?? "/", ".config/quality-gates");',
        '  const ABCDEFGHIJKLMNOPQRSTUVWXYZ = listAvailableTranslations(configurationDirectory);',
        '  // see https://developer.mozilla.org/en-US/docs/Web/API/Document/getElementsByClassName',
        '  for (const candidateTranslation of ABCDEFGHIJKLMNOPQRSTUVWXYZ) await registerTranslation(candidateTranslation);',
        '  return Promise.resolve(undefined); // 100% of the time',
        '}',
        'const veryLongIdentifierNameForTesting_with_underscores = "src/components/UserProfileSettings/index";'
      ].join('\n');
      expect(decodeLayer(code)).toBeUndefined();
    });

    it('real source files and type definitions', () => {
      const own = readFileSync(
        fileURLToPath(
          new URL('../../packages/security/src/secrets/ruleset/decode.ts', import.meta.url)
        ),
        'utf8'
      );
      const lib = readFileSync(
        fileURLToPath(new URL('../../node_modules/typescript/lib/lib.es5.d.ts', import.meta.url)),
        'utf8'
      );
      expect(decodeLayer(own)).toBeUndefined();
      expect(decodeLayer(lib)).toBeUndefined();
    });

    it('English text', () => {
      const prose =
        'Internationalization and characteristically uncharacteristic counterrevolutionaries ' +
        'notwithstanding, the implementation of electroencephalographically monitored ' +
        'compartmentalization remains straightforward. Telecommunications infrastructure ' +
        'representatives acknowledged the incomprehensibilities. See docs/architecture/overview.md.';
      expect(decodeLayer(prose)).toBeUndefined();
      expect(unescapeJsonStrings(prose)).toBeUndefined();
    });

    it('UUIDs', () => {
      const yaml = Array.from({ length: 300 }, () => `- id: ${randomUUID()}`).join('\n');
      expect(decodeLayer(yaml)).toBeUndefined();
      expect(decodeLayer(yaml.toUpperCase())).toBeUndefined();
    });

    it('sha256 and sha1 hex digests and sha512 integrity strings (binary when decoded)', () => {
      const lines: string[] = [];
      for (let i = 0; i < 200; i++) {
        const data = randomBytes(32);
        lines.push(`sha256: ${createHash('sha256').update(data).digest('hex')}`);
        lines.push(`commit ${createHash('sha1').update(data).digest('hex')}`);
        lines.push(`"integrity": "sha512-${createHash('sha512').update(data).digest('base64')}"`);
      }
      const text = lines.join('\n');
      expect(text).toMatch(/[0-9a-f]{64}/);
      expect(decodeLayer(text)).toBeUndefined();
    });

    it('random binary base64, std and url, padded or not', () => {
      const lines: string[] = [];
      for (let i = 0; i < 300; i++) {
        const data = randomBytes(24 + randomInt(500));
        lines.push(`blob${i}: ${data.toString('base64')}`);
        lines.push(`url${i}=${data.toString('base64url')}`);
        lines.push(`hex${i}=${data.toString('hex')}`);
      }
      const text = lines.join('\n');
      expect(decodeLayer(text)).toBeUndefined();
    });

    it('short runs and non-canonical base64', () => {
      expect(decodeLayer(`k: ${b64('short')}`)).toBeUndefined(); // under 16 characters
      expect(decodeLayer(`k: ${hex('short value')}`)).toBeUndefined(); // under 32 hex digits
      // A short base64 text must be plain: no line break, mostly ASCII.
      expect(decodeLayer(`k: ${b64(`${randomValue(6)}\n${randomValue(6)}`)}`)).toBeUndefined();
      expect(decodeLayer(`k: ${b64('\u00e9\u00e8\u00ea\u00eb\u00e0\u00e2')}`)).toBeUndefined();
      expect(decodeLayer(`k: ${b64(`${randomValue(12)}\u00e9`)}`)?.text).toMatch(
        /^k: [A-Za-z0-9]{12}\u00e9$/
      );
      // Non-zero unused bits in the last group: not what an encoder writes.
      const value = randomValue(19);
      const encoded = b64(value).replace(/=+$/, '');
      const tampered = encoded.slice(0, -1) + (encoded.endsWith('B') ? 'C' : 'B');
      expect(decodeLayer(`k: ${encoded}`)?.text).toBe(`k: ${value}`);
      expect(decodeLayer(`k: ${tampered}`)).toBeUndefined();
    });
  });

  it('never throws', () => {
    const alphabet = 'AQgw09+/-_=%"\\unx\n :{}[]\'aF';
    for (let i = 0; i < 500; i++) {
      const text = randomValue(randomInt(200), alphabet);
      const layers = [decodeLayer(text), unescapeJsonStrings(text)];
      for (const layer of layers) {
        if (!layer) continue;
        expectConsistent(text, layer);
        const a = randomInt(layer.text.length + 1);
        const [s, e] = mapBack(layer, a, a + randomInt(10));
        expect(s).toBeLessThanOrEqual(e);
        expect(e).toBeLessThanOrEqual(text.length);
      }
    }
    const junk = [undefined, null, 42, {}, []] as unknown as string[];
    for (const value of junk) {
      expect(decodeLayer(value)).toBeUndefined();
      expect(unescapeJsonStrings(value)).toBeUndefined();
    }
    expect(
      decodeLayer('%41%42%43', { maxDecodedBytes: Number.NaN, maxSegments: -1 })
    ).toBeUndefined();
    expect(mapBack(undefined as unknown as DecodeLayer, 0, 1)).toEqual([0, 0]);
  });
});

describe('decodeLayer with the runs a keyword pass found', () => {
  it('decodes exactly what it decodes when it looks for the runs itself', () => {
    const auto = new KeywordAutomaton(['key', 'token']);
    const pieces = [
      b64('password=hunter2-is-not-a-secret'),
      b64url('token: a-url-safe value here?'),
      hex('an api key in hex, long enough to be tried'),
      '%70%61%73%73%77%6f%72%64%3D%73%65%63%72%65%74',
      'getOwnPropertyDescriptor',
      'key=',
      ' ',
      '\n',
      '==',
      '%41%42',
      'é',
      '/',
      randomValue(20),
      randomValue(7)
    ];
    for (let round = 0; round < 200; round++) {
      let text = '';
      for (let i = 0; i < 30; i++) text += pieces[randomInt(pieces.length)];
      const found = auto.scan(text, Infinity, BASE64_RUN);
      const own = decodeLayer(text);
      const given = decodeLayer(text, undefined, false, found.runs);
      expect(given).toEqual(own);
      // And the runs are the maximal runs of at least 16 base64 characters.
      const want = [...text.matchAll(/[A-Za-z0-9+/_-]+/g)]
        .filter((m) => m[0].length >= 16)
        .flatMap((m) => [m.index, m.index + m[0].length]);
      expect([...found.runs!]).toEqual(want);
    }
  });

  it('says whether a further layer can decode anything', () => {
    const once = decodeLayer(`x = ${b64('plain words, nothing encoded in here at all')}\n`)!;
    expect(mayDecodeFurther(once)).toBe(false);
    const twice = decodeLayer(`x = ${b64(b64('an encoded value inside an encoded value'))}\n`)!;
    expect(mayDecodeFurther(twice)).toBe(true);
    expect(decodeLayer(twice.text)?.segments.length).toBe(1);
  });
});

describe('mapBack', () => {
  // "ab" + [seg "XYZ" <- input 2..10] + "cd" + [seg "Q" <- input 12..14] + "e"
  const layer: DecodeLayer = {
    text: 'abXYZcdQe',
    segments: [
      { start: 2, end: 5, origStart: 2, origEnd: 10, encoding: 'base64' },
      { start: 7, end: 8, origStart: 12, origEnd: 14, encoding: 'json-escape' }
    ]
  };

  it.each([
    [0, 2, [0, 2]], // before any segment
    [0, 3, [0, 10]], // ends inside the first segment
    [3, 4, [2, 10]], // inside: the whole run
    [2, 5, [2, 10]], // exactly the segment
    [5, 7, [10, 12]], // between: shifted
    [4, 9, [2, 15]], // spans
    [8, 9, [14, 15]], // after: shifted by both
    [5, 5, [10, 10]], // empty, at a boundary
    [7, 3, [2, 12]], // reversed
    [-5, 100, [0, 15]] // clamped
  ])('maps [%i, %i) to %j', (start, end, expected) => {
    expect(mapBack(layer, start, end)).toEqual(expected);
  });
});

describe('adversarial 2 MB inputs', () => {
  const N = 2 * 1024 * 1024;
  const fill = (unit: string): string => unit.repeat(Math.ceil(N / unit.length)).slice(0, N);
  const cases: Array<[string, () => string]> = [
    [
      'random base64 alphabet without padding',
      () =>
        randomBytes((N * 3) / 4)
          .toString('base64')
          .replace(/=/g, 'A')
    ],
    ['random base64url', () => randomBytes((N * 3) / 4).toString('base64url')],
    ['one letter', () => fill('A')],
    ['base64 of printable text', () => fill('QUFB')],
    ['printable base64 pieces between slashes', () => fill('QUFBQUFBQUFBQUFB/')],
    ['short padded runs', () => fill('AAAAAAAAAAAAAAAA=')],
    ['hex of printable text', () => fill('41')],
    ['percent escapes', () => fill('%41')],
    ['lone percents', () => fill('%4')],
    ['backslashes', () => fill('\\')],
    ['a quoted string of backslashes', () => `"${fill('\\').slice(2)}"`],
    ['a quoted string of \\n', () => `"${fill('\\n').slice(2)}"`],
    ['an unterminated string of \\u', () => `"${fill('\\u').slice(1)}`],
    ['quoted surrogate pairs', () => `"${fill('\\ud83d\\ude00').slice(2)}"`],
    ['many short escaped strings', () => fill('"a\\n",')]
  ];

  it.each(cases)('%s: each pass well under a second', (_name, make) => {
    const text = make();
    expect(text.length).toBeGreaterThanOrEqual(N - 2);
    for (const pass of [decodeLayer, unescapeJsonStrings]) {
      const started = performance.now();
      const layer = pass(text);
      const elapsed = performance.now() - started;
      expect(elapsed).toBeLessThan(1000);
      if (layer) {
        expect(layer.segments.length).toBeLessThanOrEqual(10_000);
        let decoded = 0;
        for (const s of layer.segments) decoded += s.end - s.start;
        expect(decoded).toBeLessThanOrEqual(1024 * 1024);
      }
    }
  });
});
