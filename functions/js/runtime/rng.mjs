// Seeded randomness for queries, mutations and the import phase (Convex seeds
// Math.random per execution so re-running a function gives the same result).

/**
 * A xoshiro128** generator seeded from a 32-bit-word array (splitmix32 expands it).
 * @param {number[]} words at least one 32-bit word
 * @returns {() => number} a Math.random replacement in [0, 1)
 */
export function seededRandom(words) {
  let x = 0;
  const next32 = () => {
    // splitmix32 over the seed words
    x = (x + 0x9e3779b9) | 0;
    let z = x ^ (words[(x >>> 0) % words.length] >>> 0);
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  const s = [next32(), next32(), next32(), next32()];
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
  const rotl = (v, k) => (v << k) | (v >>> (32 - k));
  const u32 = () => {
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  };
  // 53 random bits, as V8's Math.random gives.
  return () => (u32() * 2 ** 21 + (u32() >>> 11)) / 2 ** 53;
}

/**
 * Seed words from a base64 string (the engine sends 32 random bytes).
 * @param {string} b64
 * @returns {number[]}
 */
export function seedWords(b64) {
  const bytes = Buffer.from(b64, "base64");
  const words = [];
  for (let i = 0; i + 4 <= bytes.length; i += 4) words.push(bytes.readUInt32LE(i));
  return words.length ? words : [0];
}
