// WWW-Authenticate challenges (RFC 9110 11.6.1) as registries send them:
//   Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"
//   Basic realm="Registry Realm"
// One header may hold several challenges; quoted values may contain commas
// (scope="repository:a:pull,push") and backslash escapes.

export interface Challenge {
  /** Lower-case scheme: 'bearer', 'basic', ... */
  scheme: string;
  /** Lower-case parameter names; values unquoted. */
  params: Record<string, string>;
}

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;

export function parseChallenges(header: string | null | undefined): Challenge[] {
  const s = header ?? '';
  const out: Challenge[] = [];
  let current: Challenge | undefined;
  let i = 0;
  const skip = (chars: RegExp): void => {
    while (i < s.length && chars.test(s[i])) i++;
  };
  while (i < s.length) {
    skip(/[\s,]/);
    if (i >= s.length) break;
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(s);
    if (!m) {
      i++; // a stray character: skip it rather than loop
      continue;
    }
    const name = m[0];
    i = TOKEN.lastIndex;
    const save = i;
    skip(/[ \t]/);
    if (current && s[i] === '=') {
      i++;
      skip(/[ \t]/);
      let value = '';
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          value += s[i++];
        }
        i++; // closing quote
      } else {
        TOKEN.lastIndex = i;
        const v = TOKEN.exec(s);
        if (v) {
          value = v[0];
          i = TOKEN.lastIndex;
        }
      }
      current.params[name.toLowerCase()] = value;
      continue;
    }
    i = save;
    current = { scheme: name.toLowerCase(), params: {} };
    out.push(current);
  }
  return out;
}
