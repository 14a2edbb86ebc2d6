// Minimal glob for owner/name scopes and branch patterns: '*' matches within
// one path segment, '**' across segments, '?' one character. No braces or
// classes: these patterns are typed by users into a comma list.

export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        re += '.*';
        i++;
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else {
      re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

export function matchesAny(
  value: string,
  patterns: readonly string[],
  caseInsensitive = false
): boolean {
  return patterns.some((p) => {
    const re = globToRegExp(caseInsensitive ? p.toLowerCase() : p);
    return re.test(caseInsensitive ? value.toLowerCase() : value);
  });
}
