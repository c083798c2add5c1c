// Names for services created without --name, in Docker's form `adjective_surname`
// (moby pkg/namesgenerator), from shorter lists of the same kind.
import type { SecureRng } from '../ca/secure-rng.js';

// biome-ignore format: a word list reads better packed than one word a line
const ADJECTIVES = [
  'admiring', 'agitated', 'amazing', 'awesome', 'blissful', 'bold', 'brave', 'busy',
  'charming', 'clever', 'compassionate', 'competent', 'confident', 'cool', 'dazzling',
  'determined', 'eager', 'ecstatic', 'elastic', 'elegant', 'eloquent', 'epic', 'exciting',
  'fervent', 'festive', 'focused', 'friendly', 'gallant', 'gifted', 'goofy', 'gracious',
  'happy', 'hopeful', 'inspiring', 'jolly', 'keen', 'kind', 'laughing', 'loving', 'lucid',
  'magical', 'modest', 'nice', 'nifty', 'nostalgic', 'objective', 'optimistic', 'peaceful',
  'pensive', 'practical', 'priceless', 'quirky', 'relaxed', 'reverent', 'serene', 'sharp',
  'silly', 'sleepy', 'stoic', 'strange', 'sweet', 'tender', 'trusting', 'upbeat',
  'vibrant', 'vigilant', 'wizardly', 'wonderful', 'youthful', 'zealous', 'zen',
] as const;

// biome-ignore format: a word list reads better packed than one word a line
const SURNAMES = [
  'agnesi', 'albattani', 'allen', 'archimedes', 'babbage', 'banach', 'bardeen', 'bassi',
  'bell', 'bhabha', 'bohr', 'booth', 'brattain', 'cannon', 'carson', 'cerf',
  'chandrasekhar', 'clarke', 'curie', 'darwin', 'dijkstra', 'dirac', 'einstein', 'elion',
  'euclid', 'euler', 'faraday', 'fermat', 'fermi', 'feynman', 'franklin', 'galileo',
  'gauss', 'goldberg', 'goodall', 'hamilton', 'hawking', 'heisenberg', 'hertz', 'hodgkin',
  'hopper', 'hypatia', 'johnson', 'kalam', 'kepler', 'knuth', 'lamarr', 'lamport',
  'leakey', 'liskov', 'lovelace', 'mayer', 'mccarthy', 'meitner', 'mendel', 'montalcini',
  'morse', 'napier', 'newton', 'noether', 'pascal', 'pasteur', 'perlman', 'pike',
  'poincare', 'ramanujan', 'ritchie', 'shannon', 'sinoussi', 'stonebraker', 'tesla',
  'thompson', 'torvalds', 'turing', 'wiles', 'wozniak', 'wright', 'yalow', 'yonath',
] as const;

/**
 * A random service name such as `eloquent_hopper`; valid as a DNS name component.
 *
 * @example
 * randomServiceName(CRYPTO_RNG); // 'focused_lamport'
 */
export function randomServiceName(rng: SecureRng): string {
  const [a = 0, b = 0, c = 0, d = 0] = rng.randomBytes(4);
  const adjective = ADJECTIVES[((a << 8) | b) % ADJECTIVES.length]!;
  const surname = SURNAMES[((c << 8) | d) % SURNAMES.length]!;
  return `${adjective}_${surname}`;
}
