// WWW-Authenticate parsing as registries send it: Bearer with quoted params
// (commas inside scope), Basic, several challenges in one header, escapes.
import { parseChallenges } from '../../packages/image/src/challenge.ts';

describe('parseChallenges', () => {
  it('reads a Distribution Bearer challenge, comma inside the quoted scope', () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:acme/app:pull,push"'
      )
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.example/token',
          service: 'registry.example',
          scope: 'repository:acme/app:pull,push'
        }
      }
    ]);
  });

  it('reads Basic, case-insensitive scheme and parameter names', () => {
    expect(parseChallenges('BASIC Realm="Registry Realm"')).toEqual([
      { scheme: 'basic', params: { realm: 'Registry Realm' } }
    ]);
  });

  it('splits several challenges in one header', () => {
    const c = parseChallenges('Bearer realm="https://a/t", service=reg, Basic realm="x, y"');
    expect(c.map((x) => x.scheme)).toEqual(['bearer', 'basic']);
    expect(c[0].params).toEqual({ realm: 'https://a/t', service: 'reg' });
    expect(c[1].params).toEqual({ realm: 'x, y' });
  });

  it('unescapes backslashes in quoted values and tolerates spaces around =', () => {
    expect(parseChallenges('Bearer realm = "a\\"b\\\\c" , error="insufficient_scope"')).toEqual([
      { scheme: 'bearer', params: { realm: 'a"b\\c', error: 'insufficient_scope' } }
    ]);
  });

  it('gives nothing for a missing or empty header, and survives garbage', () => {
    expect(parseChallenges(null)).toEqual([]);
    expect(parseChallenges('')).toEqual([]);
    expect(parseChallenges('"unterminated')).toEqual([{ scheme: 'unterminated', params: {} }]);
    expect(parseChallenges('Bearer realm="open')).toEqual([
      { scheme: 'bearer', params: { realm: 'open' } }
    ]);
  });
});
