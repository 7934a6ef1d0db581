#!/usr/bin/env node
// Writes include/eigenformer/tokenizers/unicode_norm_data.hpp: the tables behind
// tokenizers/normalize.hpp (NFD, NFC, NFKD, NFKC per UAX #15).
//
// What decides every normalisation result is this Node.js's own String.prototype.normalize
// (ICU; the JavaScript references the tests compare with run on it), so the tables are read off
// it, one code point at a time:
//   - full canonical and compatibility decompositions: normalize('NFD'/'NFKD') of each code
//     point (Hangul syllables are left to the algorithm);
//   - which code points are non-starters, and the order of their combining classes: a mark
//     after U+0345 (the highest class, 240) moves before it iff its class is in 1..239, a mark
//     before U+0338 (class 1) moves after it iff its class is above 1, and two marks keep their
//     order under NFD iff the first one's class is not above the second's;
//   - the canonical composition pairs: each code point that NFD changes and NFC keeps is a
//     primary composite, and its pair is (NFC of its decomposition less the last code point,
//     that last code point), checked by composing it back;
//   - the quick-check values: NFD_QC/NFKD_QC = No iff NFD/NFKD changes the code point,
//     NFC_QC/NFKC_QC = No iff NFC/NFKC changes it, Maybe iff it is the second of a pair.
// The one thing normalize() cannot show is the numeric value of a combining class (it shows
// only their order), and the class of the few code points that always decompose. Those come
// from UnicodeData.txt of Debian's unicode-data package (UCD 15.0: `apt-get install
// unicode-data`): each class Node's order finds is labelled with the value its UCD 15.0
// members have, which must be one value per class and increase with the order; combining
// classes never change once assigned (Unicode stability policy), and a code point new since
// 15.0 takes the value of the class it falls in, so the values are Unicode 17.0's. Every UCD
// 15.0 value and quick-check property the script can compare (UnicodeData.txt,
// DerivedNormalizationProps.txt) is compared, and any disagreement stops it.
// Run: node tools/make_unicode_norm_tables.js [folder of UnicodeData.txt]
'use strict';
const fs = require('fs');
const path = require('path');

const ucdDir = process.argv[2] || '/usr/share/unicode';
const fail = msg => {
  console.error(`make_unicode_norm_tables: ${msg}`);
  process.exit(1);
};
const hex = c => c.toString(16);
const cps = s => Array.from(s, x => x.codePointAt(0));
const str = a => String.fromCodePoint(...a);
const isScalar = c => c < 0xd800 || (c > 0xdfff && c < 0x110000);
const SBase = 0xac00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11a7, LCount = 19, VCount = 21, TCount = 28;
const SCount = LCount * VCount * TCount;
const isHangulSyllable = c => c >= SBase && c < SBase + SCount;

// ---- UCD 15.0 (only for combining class values and cross-checks) ----
const ucdCcc = new Map(), ucdDm = new Map();
{
  const file = path.join(ucdDir, 'UnicodeData.txt');
  if (!fs.existsSync(file)) fail(`${file} not found (apt-get install unicode-data, or pass its folder)`);
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  for (let i = 0; i < lines.length; i++) {
    const f = lines[i].split(';');
    const c = parseInt(f[0], 16);
    // Only the two ends of a range (<CJK Ideograph, First> .. Last>) are listed: class 0, no
    // decomposition, as every code point between them has; they are left out of the checks.
    ucdCcc.set(c, +f[3]);
    if (f[5] && !f[5].startsWith('<')) ucdDm.set(c, f[5].split(' ').map(x => parseInt(x, 16)));
  }
}
const ucdQc = {NFD_QC: new Map(), NFKD_QC: new Map(), NFC_QC: new Map(), NFKC_QC: new Map()};
{
  const file = path.join(ucdDir, 'DerivedNormalizationProps.txt');
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^([0-9A-F]+)(?:\.\.([0-9A-F]+))?\s*;\s*(NF[KCD]+_QC)\s*;\s*([NM])/.exec(line);
    if (!m) continue;
    for (let c = parseInt(m[1], 16); c <= parseInt(m[2] || m[1], 16); c++) ucdQc[m[3]].set(c, m[4]);
  }
}
const ucdVersion = (() => {
  const m = /UnicodeData-([0-9.]+)\.txt/.exec(fs.readFileSync(path.join(ucdDir, 'DerivedNormalizationProps.txt'), 'utf8'));
  const r = /Version ([0-9.]+)/.exec(fs.readFileSync(path.join(ucdDir, 'ReadMe.txt'), 'utf8'));
  return (m && m[1]) || (r && r[1]) || 'unknown';
})();

// ---- Node's normalisation of every code point ----
const N = 0x110000;
const nfd = new Array(N), nfkd = new Array(N), nfc = new Array(N), nfkc = new Array(N);
for (let c = 0; c < N; c++) {
  if (!isScalar(c)) continue;
  const s = String.fromCodePoint(c);
  nfd[c] = s.normalize('NFD');
  nfkd[c] = s.normalize('NFKD');
  nfc[c] = s.normalize('NFC');
  nfkc[c] = s.normalize('NFKC');
}
const self = c => String.fromCodePoint(c);

// Hangul syllables: the algorithm, checked against Node for every one.
for (let c = SBase; c < SBase + SCount; c++) {
  const s = c - SBase;
  const d = [LBase + Math.floor(s / (VCount * TCount)), VBase + Math.floor((s % (VCount * TCount)) / TCount)];
  if (s % TCount) d.push(TBase + (s % TCount));
  if (nfd[c] !== str(d) || nfkd[c] !== str(d) || nfc[c] !== self(c) || nfkc[c] !== self(c))
    fail(`Hangul U+${hex(c)} does not follow the algorithm`);
}

// ---- combining classes ----
// A code point that decomposes is never seen undecomposed by normalize(), so its class is not
// observable; the others are probed.
const MAX_MARK = 0x345, MIN_MARK = 0x338;  // classes 240 (the highest) and 1 (the lowest)
if (ucdCcc.get(MAX_MARK) !== 240 || ucdCcc.get(MIN_MARK) !== 1) fail('probe marks have unexpected classes');
if ('\u0345\u0338'.normalize('NFD') !== '\u0338\u0345') fail('U+0338 does not sort before U+0345');
const nonStarters = [];
for (let c = 0; c < N; c++) {
  if (!isScalar(c) || nfd[c] !== self(c)) continue;
  const s = self(c);
  const below240 = ('\u0345' + s).normalize('NFD') === s + '\u0345';
  const above1 = (s + '\u0338').normalize('NFD') === '\u0338' + s;
  if (below240 || above1) nonStarters.push(c);
}
// Order them: a < b iff NFD moves b after a when b comes first.
const less = (a, b) => a !== b && (self(b) + self(a)).normalize('NFD') === self(a) + self(b);
nonStarters.sort((a, b) => (less(a, b) ? -1 : less(b, a) ? 1 : a - b));
const classes = [];
for (const c of nonStarters) {
  const last = classes.length ? classes[classes.length - 1] : null;
  if (last && !less(last[0], c)) last.push(c);
  else classes.push([c]);
}
// The order must be a strict weak one: every member against every class's first member.
for (let k = 0; k < classes.length; k++)
  for (const c of classes[k])
    for (let j = 0; j < classes.length; j++) {
      const r = classes[j][0];
      const want = j < k ? 1 : j > k ? -1 : 0;
      const got = less(r, c) ? 1 : less(c, r) ? -1 : 0;
      if (got !== want) fail(`combining class order is not consistent at U+${hex(c)} / U+${hex(r)}`);
    }
const ccc = new Uint8Array(N);
let prevValue = 0;
for (const cls of classes) {
  const values = new Set(cls.filter(c => ucdCcc.has(c)).map(c => ucdCcc.get(c)));
  if (values.size !== 1)
    fail(`class of U+${hex(cls[0])} has UCD ${ucdVersion} values [${[...values]}]: need exactly one`);
  const v = [...values][0];
  if (!(v > prevValue)) fail(`class values do not increase at U+${hex(cls[0])} (${v} after ${prevValue})`);
  prevValue = v;
  for (const c of cls) ccc[c] = v;
}
let newMarks = 0;
for (let c = 0; c < N; c++) {
  if (!isScalar(c)) continue;
  if (nfd[c] !== self(c)) {
    // Decomposing code points: UCD 15.0's class. One new since then takes 0, as every UCD 15.0
    // code point whose decomposition starts with a starter has (checked here).
    const first = cps(nfd[c])[0];
    if (ucdCcc.has(c)) {
      ccc[c] = ucdCcc.get(c);
      if (ccc[first] === 0 && ccc[c] !== 0) fail(`U+${hex(c)} decomposes to a starter first but has class ${ccc[c]}`);
    } else if (ccc[first] === 0) {
      ccc[c] = 0;
    } else {
      fail(`U+${hex(c)} is new since UCD ${ucdVersion} and decomposes to a non-starter first: class unknown`);
    }
    continue;
  }
  if (ucdCcc.has(c) && ucdCcc.get(c) !== ccc[c]) fail(`U+${hex(c)}: class ${ccc[c]} here, ${ucdCcc.get(c)} in UCD`);
  if (!ucdCcc.has(c) && ccc[c]) newMarks++;
}

// ---- composition pairs ----
const pairs = [];  // [first, second, composite]
for (let c = 0; c < N; c++) {
  if (!isScalar(c) || isHangulSyllable(c) || nfd[c] === self(c) || nfc[c] !== self(c)) continue;
  const d = cps(nfd[c]);
  if (d.length < 2) fail(`U+${hex(c)}: a singleton decomposition survives NFC`);
  const a = cps(str(d.slice(0, -1)).normalize('NFC')), b = d[d.length - 1];
  if (a.length !== 1 || (self(a[0]) + self(b)).normalize('NFC') !== self(c))
    fail(`U+${hex(c)}: no pair composes it`);
  const u = ucdDm.get(c);
  if (u && (u.length !== 2 || u[0] !== a[0] || u[1] !== b)) fail(`U+${hex(c)}: pair differs from UCD's mapping`);
  pairs.push([a[0], b, c]);
}
pairs.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
for (let i = 1; i < pairs.length; i++)
  if (pairs[i][0] === pairs[i - 1][0] && pairs[i][1] === pairs[i - 1][1]) fail('duplicate pair');
// Every UCD 15.0 two-element canonical mapping not excluded from composition must be a pair.
{
  const have = new Set(pairs.map(p => p[2]));
  for (const [c, m] of ucdDm)
    if (m.length === 2 && ucdQc.NFC_QC.get(c) !== 'N' && !have.has(c)) fail(`UCD pair of U+${hex(c)} missing`);
}
const combinesBack = new Uint8Array(N);
for (const p of pairs) combinesBack[p[1]] = 1;
for (let v = VBase; v < VBase + VCount; v++) combinesBack[v] = 1;
for (let t = TBase + 1; t < TBase + TCount; t++) combinesBack[t] = 1;

// ---- per code point records ----
const F = {nfd_yes: 1, nfkd_yes: 2, nfc_yes: 4, nfkc_yes: 8, bnd_d: 16, bnd_kd: 32, bnd_c: 64, bnd_kc: 128, back: 256};
const pool = [];
const poolIndex = new Map();
function poolAdd(a) {
  const key = a.join(',');
  if (poolIndex.has(key)) return poolIndex.get(key);
  const at = pool.length;
  pool.push(...a);
  poolIndex.set(key, at);
  return at;
}
const records = [];
const recordIndex = new Map();
const cpRecord = new Uint16Array(N);
let maxCanon = 0, maxCompat = 0;
for (let c = 0; c < N; c++) {
  let rec;
  if (!isScalar(c)) {
    rec = [0, 0, 0, 0, F.nfd_yes | F.nfkd_yes | F.nfc_yes | F.nfkc_yes | F.bnd_d | F.bnd_kd | F.bnd_c | F.bnd_kc];
  } else {
    const dc = isHangulSyllable(c) ? [c] : cps(nfd[c]), dk = isHangulSyllable(c) ? [c] : cps(nfkd[c]);
    let flags = 0;
    if (nfd[c] === self(c)) flags |= F.nfd_yes;
    if (nfkd[c] === self(c)) flags |= F.nfkd_yes;
    if (nfc[c] === self(c) && !combinesBack[c]) flags |= F.nfc_yes;
    if (nfkc[c] === self(c) && !combinesBack[c]) flags |= F.nfkc_yes;
    if (ccc[dc[0]] === 0) flags |= F.bnd_d;
    if (ccc[dk[0]] === 0) flags |= F.bnd_kd;
    if (ccc[dc[0]] === 0 && !combinesBack[dc[0]]) flags |= F.bnd_c;
    if (ccc[dk[0]] === 0 && !combinesBack[dk[0]]) flags |= F.bnd_kc;
    if (combinesBack[c]) flags |= F.back;
    const canon = nfd[c] === self(c) || isHangulSyllable(c) ? [] : dc;
    const compat = nfkd[c] === self(c) || isHangulSyllable(c) ? [] : dk;
    maxCanon = Math.max(maxCanon, canon.length);
    maxCompat = Math.max(maxCompat, compat.length);
    rec = [canon.length ? poolAdd(canon) : 0, compat.length ? poolAdd(compat) : 0, ccc[c], canon.length | (compat.length << 3), flags];
    // Cross-checks with UCD 15.0's quick-check values.
    if (ucdCcc.has(c) || ucdQc.NFC_QC.has(c)) {
      const qc = (name, yes, maybe) => {
        const u = ucdQc[name].get(c) || 'Y';
        const here = yes ? 'Y' : maybe ? 'M' : 'N';
        if (u !== here) fail(`U+${hex(c)} ${name}: ${here} here, ${u} in UCD`);
      };
      qc('NFD_QC', flags & F.nfd_yes, false);
      qc('NFKD_QC', flags & F.nfkd_yes, false);
      qc('NFC_QC', flags & F.nfc_yes, nfc[c] === self(c));
      qc('NFKC_QC', flags & F.nfkc_yes, nfkc[c] === self(c));
    }
  }
  const key = rec.join(',');
  let idx = recordIndex.get(key);
  if (idx === undefined) {
    idx = records.length;
    records.push(rec);
    recordIndex.set(key, idx);
  }
  cpRecord[c] = idx;
}
if (maxCanon > 7 || maxCompat > 31) fail(`decomposition too long (${maxCanon}, ${maxCompat})`);
if (records.length > 65535 || pool.length > 65535) fail('tables outgrew 16-bit indexes');

// ---- two-stage table over the code space ----
// Code points from `limit` on all have record 0 (that of U+0000: no decomposition, class 0,
// every quick check Yes), so the table stops there.
if (recordIndex.get(records[cpRecord[0]].join(',')) !== 0) fail('record 0 is not the default one');
let limit = N;
while (limit > 0 && cpRecord[limit - 1] === 0) limit--;
function stages(shift) {
  const bs = 1 << shift;
  const blocks = [], blockIndex = new Map(), stage1 = [];
  const end = Math.ceil(limit / bs) * bs;
  for (let b = 0; b < end / bs; b++) {
    const blk = Array.from(cpRecord.subarray(b * bs, (b + 1) * bs));
    const key = blk.join(',');
    let i = blockIndex.get(key);
    if (i === undefined) {
      i = blocks.length;
      blocks.push(blk);
      blockIndex.set(key, i);
    }
    stage1.push(i);
  }
  const stage2 = [].concat(...blocks);
  const text = stage1.join(',').length + stage2.join(',').length;
  return {shift, stage1, stage2, text, end};
}
let best = null;
for (let shift = 4; shift <= 9; shift++) {
  const s = stages(shift);
  if (!best || s.text < best.text) best = s;
}
if (best.stage1.length > 65535 || best.stage2.length / (1 << best.shift) > 65535) fail('stage tables too large');

// ---- output ----
// Dense tables: decimal, no spaces, lines of about 100 characters (they are read by compilers).
const wrap = (items, sep = ',') => {
  const lines = [];
  let line = '';
  for (const it of items) {
    if (line.length + it.length > 100) {
      lines.push(line);
      line = '';
    }
    line += it + sep;
  }
  if (line) lines.push(line);
  return lines.join('\n');
};
let out = `#pragma once
/// @file
/// Unicode normalization tables for tokenizers/normalize.hpp, generated by
/// tools/make_unicode_norm_tables.js. Do not edit by hand.
///
/// Source: Node.js ${process.version} (Unicode ${process.versions.unicode}, ICU ${process.versions.icu}), whose
/// String.prototype.normalize the references run on: normalize() of every code point gives the full
/// NFD and NFKD decompositions, the composition pairs, the quick-check values, which code points
/// are non-starters and the order of their combining classes, so results agree with Node exactly.
/// Only the numbers of the classes come from elsewhere, Debian's unicode-data (UCD ${ucdVersion})
/// UnicodeData.txt, which normalize() cannot show: each class of Node's order gets the one value
/// its UCD ${ucdVersion} members have (checked: one per class, increasing with the order; classes never
/// change once assigned, so these are Unicode ${process.versions.unicode}'s; ${newMarks} non-starters new since
/// ${ucdVersion} take their class's value); a code point that always decomposes has its UCD ${ucdVersion} class,
/// or 0 when new since (as every UCD ${ucdVersion} one whose decomposition starts with a starter has).

#include <cstdint>

namespace eigenformer::tokenizers::unicode_norm_data {

inline constexpr const char* unicode_version = "${process.versions.unicode}";

/// Properties shared by the code points that point at them.
struct record {
  std::uint16_t canonical;      ///< offset in decomposition_pool of the full canonical decomposition
  std::uint16_t compatibility;  ///< offset of the full compatibility decomposition
  std::uint8_t ccc;             ///< canonical combining class
  std::uint8_t lengths;         ///< canonical length (bits 0-2), compatibility length (bits 3-7); 0: none
  std::uint16_t flags;          ///< flag bits below
};
/// The code point is unchanged by NFD / NFKD (quick check Yes).
inline constexpr std::uint16_t nfd_yes = ${F.nfd_yes}, nfkd_yes = ${F.nfkd_yes};
/// NFC_QC / NFKC_QC = Yes (neither No nor Maybe).
inline constexpr std::uint16_t nfc_yes = ${F.nfc_yes}, nfkc_yes = ${F.nfkc_yes};
/// The first code point of the canonical / compatibility decomposition is a starter: nothing
/// before the code point reorders with anything from it on (NFD, NFKD).
inline constexpr std::uint16_t boundary_d = ${F.bnd_d}, boundary_kd = ${F.bnd_kd};
/// The same, and that starter never combines with a preceding one (NFC, NFKC).
inline constexpr std::uint16_t boundary_c = ${F.bnd_c}, boundary_kc = ${F.bnd_kc};
/// The code point is the second of a composition pair (Hangul V and T jamo included).
inline constexpr std::uint16_t combines_back = ${F.back};

/// Code point c below stage_limit has records[stage2[(stage1[c >> stage_shift] << stage_shift) |
/// (c & stage_mask)]]; every code point from stage_limit on has records[0].
inline constexpr char32_t stage_limit = 0x${hex(best.end)};
inline constexpr int stage_shift = ${best.shift};
inline constexpr char32_t stage_mask = ${(1 << best.shift) - 1};
inline constexpr std::uint16_t stage1[] = {
${wrap(best.stage1.map(String))}
};
inline constexpr std::uint16_t stage2[] = {
${wrap(best.stage2.map(String))}
};
inline constexpr record records[] = {
${wrap(records.map(r => `{${r.join(',')}}`))}
};
inline constexpr char32_t decomposition_pool[] = {
${wrap(pool.map(String))}
};

/// Canonical composition: (first, second) -> composite for every primary composite except
/// Hangul syllables, sorted by (first, second).
struct composition {
  char32_t first, second, composite;
};
inline constexpr composition compositions[] = {
${wrap(pairs.map(p => `{0x${hex(p[0])}, 0x${hex(p[1])}, 0x${hex(p[2])}}`), ', ')}
};

}  // namespace eigenformer::tokenizers::unicode_norm_data
`;
const file = path.join(__dirname, '..', 'include', 'eigenformer', 'tokenizers', 'unicode_norm_data.hpp');
fs.writeFileSync(file, out);
console.log(`wrote ${file} (${out.length} bytes): ${records.length} records, ${pool.length} pool entries, ` +
  `${pairs.length} pairs, stage shift ${best.shift} (${best.stage1.length} + ${best.stage2.length} entries), ` +
  `${classes.length} combining classes, ${newMarks} marks new since UCD ${ucdVersion}`);
