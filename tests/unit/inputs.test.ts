import { ConfigurationError } from '../../packages/core/src/errors.ts';
import {
  envInputSource,
  mapInputSource,
  readBoolean,
  readEnum,
  readInteger,
  readList
} from '../../packages/core/src/inputs.ts';
import { matchesAny } from '../../packages/core/src/glob.ts';

describe('inputs', () => {
  it('reads INPUT_* the way a runner sets them (hyphens kept, upper-case)', () => {
    const src = envInputSource({ 'INPUT_SECRETS-ENGINE': ' embedded ' });
    expect(src.get('secrets-engine')).toBe('embedded');
    expect(src.get('missing')).toBe('');
  });

  it('rejects an unknown enum value naming the input and the choices', () => {
    const src = mapInputSource({ 'secrets-engine': 'trufflehog' });
    expect(() => readEnum(src, 'secrets-engine', ['auto', 'gitleaks', 'embedded'], 'auto')).toThrow(
      'input \'secrets-engine\': expected one of auto | gitleaks | embedded (got "trufflehog")'
    );
  });

  it('accepts only real booleans', () => {
    expect(readBoolean(mapInputSource({ b: 'TRUE' }), 'b', false)).toBe(true);
    expect(readBoolean(mapInputSource({ b: 'false' }), 'b', true)).toBe(false);
    expect(() => readBoolean(mapInputSource({ b: 'maybe' }), 'b', false)).toThrow(
      ConfigurationError
    );
  });

  it.each(['0', '-1', '1.5', '21601', 'ten', '1e3'])('rejects timeout %s', (v) => {
    expect(() => readInteger(mapInputSource({ t: v }), 't', 600, 1, 21600)).toThrow(
      /input 't': expected a whole number from 1 to 21600/
    );
  });

  it('splits lists on commas and newlines', () => {
    expect(readList(mapInputSource({ repos: 'a/b, c/*\n\n d/e ' }), 'repos')).toEqual([
      'a/b',
      'c/*',
      'd/e'
    ]);
  });
});

describe('glob scopes', () => {
  it('matches owner/name globs within a segment', () => {
    expect(matchesAny('acme/api', ['acme/*'])).toBe(true);
    expect(matchesAny('acme/api', ['other/*'])).toBe(false);
    expect(matchesAny('acme/api/x', ['acme/*'])).toBe(false);
    expect(matchesAny('release/1.2', ['release/*'])).toBe(true);
    expect(matchesAny('Acme/API', ['acme/api'], true)).toBe(true);
    expect(matchesAny('a.b', ['a?b'])).toBe(true);
    expect(matchesAny('axb', ['a.b'])).toBe(false);
  });
});
