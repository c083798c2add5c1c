import { ShoalError } from '@shoal/api';
import { describe, expect, it } from 'vitest';
import {
  generateJoinToken,
  generateJoinTokens,
  parseJoinToken,
  requireJoinToken,
  roleOfJoinToken,
  rootCaDigest,
  tokenMatches,
} from './join-token.js';
import { fakeSecureRng } from './testing.js';

const DIGEST_HEX = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const ZERO_HEX = '0'.repeat(64);
const DIGEST36 = '0'.repeat(50);
const SECRET = 'f5lxx1zz5pnorynqglhzmsp33';

describe('generateJoinToken', () => {
  it('generateJoinToken: writes SWMTKN-1, a 50-char digest and a 25-char secret when given a digest', () => {
    const token = generateJoinToken(DIGEST_HEX, fakeSecureRng({ fill: 0xff }));
    expect(token).toMatch(/^SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$/);
    // 2^128 - 1 in base 36: sixteen 0xff bytes fill all 25 characters.
    expect(token.endsWith(`-${SECRET}`)).toBe(true);
  });

  it('generateJoinToken: left-pads digest and secret with zeros when the numbers are small', () => {
    const token = generateJoinToken(ZERO_HEX, fakeSecureRng({ fill: 0 }));
    expect(token).toBe(`SWMTKN-1-${DIGEST36}-${'0'.repeat(25)}`);
  });

  it('generateJoinToken: writes the largest digest in exactly 50 characters when it is all ones', () => {
    const token = generateJoinToken('f'.repeat(64), fakeSecureRng({ fill: 1 }));
    expect(token.split('-')[2]).toBe('6dp5qcb22im238nr3wvp0ic7q99w035jmy2iw7i6n43d37jtof');
  });

  it('generateJoinTokens: shares the digest and differs in the secret when making both tokens', () => {
    const tokens = generateJoinTokens(DIGEST_HEX, fakeSecureRng());
    expect(tokens.worker.slice(0, 59)).toBe(tokens.manager.slice(0, 59));
    expect(tokens.worker).not.toBe(tokens.manager);
  });

  it('generateJoinToken: throws RangeError when the digest is not 64 hex characters', () => {
    expect(() => generateJoinToken('abc', fakeSecureRng())).toThrow(
      new RangeError(
        'Generate join token: CA digest must be 64 lowercase hex characters: got "abc"',
      ),
    );
  });
});

describe('parseJoinToken', () => {
  const valid = `SWMTKN-1-${'0'.repeat(49)}1-${SECRET}`;
  const table: { name: string; input: string; want?: object; error?: RegExp }[] = [
    {
      name: 'a well-formed token',
      input: valid,
      want: { version: 1, caDigestHex: `${'0'.repeat(63)}1`, secret: SECRET },
    },
    {
      name: "the docs' example token",
      input:
        'SWMTKN-1-49nj1cmql0jkz5s954yi3oex3nedyz0fb0xx14ie39trti4wxv-8vxv8rssmk743ojnwacrr2d7c',
      want: { version: 1, secret: '8vxv8rssmk743ojnwacrr2d7c' },
    },
    {
      name: 'an empty string',
      input: '',
      error:
        /^Parse join token: want "SWMTKN-1-<digest>-<secret>": the token does not start with "SWMTKN-"$/,
    },
    {
      name: 'a bare secret',
      input: SECRET,
      error: /the token does not start with "SWMTKN-"$/,
    },
    {
      name: 'a lowercase prefix',
      input: valid.replace('SWMTKN', 'swmtkn'),
      error: /the token does not start with "SWMTKN-"$/,
    },
    {
      name: 'a v2 (FIPS) token',
      input: `SWMTKN-2-1-${DIGEST36}-${SECRET}`,
      error: /^Parse join token: unsupported version "2": want "1"$/,
    },
    {
      name: 'only the prefix',
      input: 'SWMTKN',
      error: /^Parse join token: unsupported version \(missing\): want "1"$/,
    },
    {
      name: 'three fields',
      input: `SWMTKN-1-${DIGEST36}`,
      error: /^Parse join token: want 4 dash-separated fields "SWMTKN-1-<digest>-<secret>": got 3$/,
    },
    {
      name: 'five fields',
      input: `${valid}-x`,
      error: /^Parse join token: want 4 dash-separated fields "SWMTKN-1-<digest>-<secret>": got 5$/,
    },
    {
      name: 'a 49-character digest',
      input: `SWMTKN-1-${'0'.repeat(49)}-${SECRET}`,
      error: /^Parse join token: CA digest must be 50 characters: got 49$/,
    },
    {
      name: 'a 51-character digest',
      input: `SWMTKN-1-${'0'.repeat(51)}-${SECRET}`,
      error: /^Parse join token: CA digest must be 50 characters: got 51$/,
    },
    {
      name: 'a digest with an uppercase letter',
      input: `SWMTKN-1-${'0'.repeat(49)}A-${SECRET}`,
      error: /^Parse join token: CA digest must be base 36 \(0-9, a-z\): got "0{49}A"$/,
    },
    {
      name: 'a digest larger than SHA-256',
      input: `SWMTKN-1-${'z'.repeat(50)}-${SECRET}`,
      error: /^Parse join token: CA digest is larger than a SHA-256 digest: got "z{50}"$/,
    },
    {
      name: 'a 24-character secret',
      input: `SWMTKN-1-${DIGEST36}-${SECRET.slice(1)}`,
      error: /^Parse join token: secret must be 25 characters: got 24$/,
    },
    {
      name: 'a secret with a non-base-36 character',
      input: `SWMTKN-1-${DIGEST36}-${SECRET.slice(1)}_`,
      error: /^Parse join token: secret must be base 36 \(0-9, a-z\)$/,
    },
    {
      name: 'a trailing newline',
      input: `${valid}\n`,
      error: /^Parse join token: secret must be 25 characters: got 26$/,
    },
  ];

  for (const { name, input, want, error } of table) {
    if (error) {
      it(`parseJoinToken: throws SHOAL_INVALID_ARGUMENT when given ${name}`, () => {
        let thrown: unknown;
        try {
          parseJoinToken(input);
        } catch (e) {
          thrown = e;
        }
        expect(thrown).toBeInstanceOf(ShoalError);
        expect((thrown as ShoalError).code).toBe('SHOAL_INVALID_ARGUMENT');
        expect((thrown as ShoalError).message).toMatch(error);
        expect((thrown as ShoalError).message).not.toContain(SECRET.slice(1));
      });
    } else {
      it(`parseJoinToken: reads the fields when given ${name}`, () => {
        expect(parseJoinToken(input)).toMatchObject(want ?? {});
      });
    }
  }

  it('parseJoinToken: returns the digest it was generated from when round-tripping', () => {
    for (const fill of [0, 1, 0x7f, 0xff]) {
      const hex = Buffer.alloc(32, fill).toString('hex');
      const token = generateJoinToken(hex, fakeSecureRng({ start: fill }));
      const parsed = parseJoinToken(token);
      expect(parsed.caDigestHex).toBe(hex);
      expect(token.endsWith(parsed.secret)).toBe(true);
    }
  });
});

describe('rootCaDigest', () => {
  it('rootCaDigest: is the SHA-256 of the bytes as given when hashing a bundle', () => {
    expect(rootCaDigest('')).toBe(DIGEST_HEX);
    expect(rootCaDigest('a\n')).not.toBe(rootCaDigest('a\r\n'));
  });
});

describe('tokenMatches and roleOfJoinToken', () => {
  const tokens = generateJoinTokens(DIGEST_HEX, fakeSecureRng({ start: 9 }));

  it('tokenMatches: is true only when the tokens are equal', () => {
    expect(tokenMatches(tokens.worker, tokens.worker)).toBe(true);
    expect(tokenMatches(tokens.worker, tokens.manager)).toBe(false);
    expect(tokenMatches(`${tokens.worker}x`, tokens.worker)).toBe(false);
    expect(tokenMatches(tokens.worker.slice(0, -1), tokens.worker)).toBe(false);
  });

  it('tokenMatches: is false when the stored token is empty', () => {
    expect(tokenMatches('', '')).toBe(false);
  });

  it('roleOfJoinToken: names the role whose token matches, or undefined when none does', () => {
    expect(roleOfJoinToken(tokens.worker, tokens)).toBe('worker');
    expect(roleOfJoinToken(tokens.manager, tokens)).toBe('manager');
    expect(roleOfJoinToken('SWMTKN-1-x-y', tokens)).toBeUndefined();
    expect(roleOfJoinToken('', { worker: '', manager: '' })).toBeUndefined();
  });
});

describe('requireJoinToken', () => {
  const tokens = generateJoinTokens(DIGEST_HEX, fakeSecureRng({ start: 3 }));

  it('requireJoinToken: returns the role when the token matches one', () => {
    expect(requireJoinToken(tokens.manager, tokens)).toBe('manager');
    expect(requireJoinToken(tokens.worker, tokens)).toBe('worker');
  });

  it('requireJoinToken: throws SHOAL_PERMISSION_DENIED without echoing the token when none matches', () => {
    const rotated = generateJoinToken(DIGEST_HEX, fakeSecureRng({ start: 200 }));
    let thrown: unknown;
    try {
      requireJoinToken(rotated, tokens);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ShoalError);
    expect((thrown as ShoalError).code).toBe('SHOAL_PERMISSION_DENIED');
    expect((thrown as ShoalError).message).toBe(
      'Join cluster: the join token is not valid for this cluster: get a current one with "shoal swarm join-token worker|manager" on a manager',
    );
  });
});
