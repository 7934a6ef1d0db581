#!/usr/bin/env node
// Writes tests/data/unicode_normalization.json, the references of
// tests/tokenizers/test_normalize.cpp, from this Node.js's String.prototype.normalize:
//   - cases: [input, NFD, NFC, NFKD, NFKC] of hand-picked strings (the UAX #15 examples,
//     singletons, composition exclusions, ligatures and compatibility characters, Hangul syllables
//     and jamo sequences, strings of several marks, mixed text), of runs of marks longer than
//     the sort's short path, of every non-starter between a letter and marks around it, of every
//     primary composite given decomposed with its marks reversed, of every code point that NFC
//     changes (but the CJK compatibility ideographs: a sample), and of every 8th code point with
//     a compatibility decomposition;
//   - exhaustive: for every Unicode scalar value c put in each of a few contexts (c alone, after
//     'a', before marks in non-canonical order, between Hangul L and T jamo), a 32-bit FNV-1a
//     hash per block of code points of each form's output, which the test recomputes.
// Strings are written as UTF-8 (JSON.stringify escapes only what JSON needs).
// Run: node tools/make_normalization_goldens.js
'use strict';
const fs = require('fs');
const path = require('path');

const forms = ['NFD', 'NFC', 'NFKD', 'NFKC'];
const S = (...a) => String.fromCodePoint(...a);
const isScalar = c => c < 0xd800 || (c > 0xdfff && c < 0x110000);
const isHangul = c => c >= 0xac00 && c <= 0xd7a3;
const cps = s => Array.from(s, x => x.codePointAt(0));

const cases = [];
const seen = new Set();
function add(s) {
  if (seen.has(s)) return;
  seen.add(s);
  cases.push([s, ...forms.map(f => s.normalize(f))]);
}

// Hand-picked.
[
  'caf\u00e9', 'cafe\u0301', '\u00c5', 'A\u030a', '\u212b', '\u2126', '\u03a9', '\u0958', '\u0915\u093c', '\u0344',
  '\u0308\u0301', 'a\u0344', '\u0f73', '\u0f71\u0f72', '\u0f72\u0f71', '\u0f77', '\u0340', '\u0341', '\u0343', '\u0374', '\u037e',
  '\u0387', '\u2adc', '\u2add\u0338', '\ufb01', 'of\ufb01ce', '\u2460', '\u2474', '\uff21', '\uff76\uff9e', '\u00bd', '\u2153',
  '\u00b5', '\u00aa', '\u2122', '\u3300', '\u33c4', '\u1e9b\u0323', '\u1e9b', '\u017f\u0323\u0307', 's\u0323\u0307',
  's\u0307\u0323', '\u1e69', '\u1e0b\u0323', 'd\u0323\u0307', 'd\u0307\u0323', '\u1e0d\u0307', 'q\u0307\u0323', 'q\u0323\u0307',
  '\u00c7\u0301', 'C\u0327\u0301', 'C\u0301\u0327', '\u1e08', 'a\u0301\u0301', 'a\u0300\u0301\u0302', 'a\u0323\u0302\u0301',
  'a\u0302\u0323\u0301', 'e\u0304\u0300', '\u1e14', 'o\u031b\u0323\u0302', 'o\u0323\u031b', '\u1ee3', '\u01d7', 'u\u0308\u0301',
  '\u03b1\u0313\u0300\u0345', '\u03b1\u0345\u0313\u0300', '\u1f82', '\u1fb3\u0313', '\u1fee', '\u0385', '\u00a8\u0301',
  'a\u0334\u0301', 'a\u0301\u0334', 'a\u0338', '=\u0338', '\u2260', '<\u0338\u0338', 'a\u05b0\u05b1\u05b0', '\u05d9\u05b4',
  '\ufb1d', '\ufb2c', '\u05e9\u05bc\u05c1', '\u05e9\u05c1\u05bc', '\u0627\u0653', '\u0627\u0655\u0653', '\u0622', '\u09c7\u09be',
  '\u09cb', '\u0b47\u0b56\u0b3e', '\u0dd9\u0dcf\u0dca', '\u0dda', '\u1025\u102e', '\u1026', '\u1b05\u1b35', 'e\u0301\u0b3e',
  '\u0b47\u0301\u0b3e', '\u1100\u1161', '\u1100\u1161\u11a8', '\uac00', '\uac00\u11a8', '\uac01', '\uac01\u11a8',
  '\u1100\u1100\u1161', '\u1100\u1161\u1161', '\u1100\u0301\u1161', '\uac00\u0301\u11a8', '\u1161\u11a8', '\u11a8',
  '\u1100\u11a8', '\u1112\u1175\u11c2', '\ud7a3', '\u1100\u1161\u11a7', '\u1100\u1176', '\u1113\u1161', '\u3131\u314f',
  '\u1100\u1161\u11c3', '\ud55c\uad6d\uc5b4', '\u1112\u1161\u11ab\u1100\u116e\u11a8\u110b\u1165', '\uf900', '\ufa10', '\u{2f800}',
  '\u{1d15e}', '\u{1d157}\u{1d165}', '\u{1d160}', '\u{1d400}', '\u{1d7ce}', '\u{1f100}', '\u{1f190}', '\u{110ab}',
  '\u{11099}\u{110ba}', '\u{11131}\u{11127}', '\u{1112e}', '\u{11347}\u{1133e}', '\u{1134b}', '\u{114bb}', '\u{115ba}',
  '\u{11935}', '\u{11938}', '\u{105c9}', '\u{16d68}', '\u{16121}', '\u{11383}', '\u0301', '\u0301a', '\u0301\u0300',
  '\u0323\u0301', '\u0301\u0323', '\u0301\u0300\u0323\u0345\u031b\u0334', 'x\u0301\u0300\u0323\u0345\u031b\u0334\u0338\u05b0',
  'e\u0301\u0301\u0301\u0301\u0301\u0301\u0301\u0301', '\u00e9\u0323', 'e\u0323\u0301', '\u1ec7', '\u00e9\u0302\u0323',
  'A\u0308\u0304', '\u01de', '\u00c4\u0304', 'A\u0304\u0308', 'Stra\u00dfe', '\u0130', 'i\u0307', '\u1e9e', '\u00c5ngstr\u00f6m',
  '\u212bngstr\u00f6m', 'na\u00efve r\u00e9sum\u00e9 co\u00f6perate', 'nai\u0308ve re\u0301sume\u0301',
  '\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8', '\u30ac', '\u30ab\u3099', '\u304b\u309a', '\uff8a\uff9f', '\u3071',
  'Stra\u00dfe \ufb01 \u2460 \uff21 \u00bd \u33a1 \u2126 \u212b', '\u0041\u030a\u0301\u0323', '\ufdfa', '\ufdfb', '\u00a0', '\u2002',
  '\u3000', '\u2024\u2025\u2026', '\u00b2\u00b3\u00b9', '\u2070\u2079', '\u2080', '\u2116', '\u2161', '\u216f', '\u24b6', '\u32a4',
  '\u3250', '\u33ff', '\ufe30', '\ufe4d', '\ufe70', '\ufe8e', '\ufef5', '\uffe3', '\uffe8', '\u0149', '\u01c4', '\u01c6', '\u0132',
  '\u1e9a', '\u2fd5', '\u2e9f', '\u2ef3', '\u{1f16a}', '\u{1f202}', '\u{1f250}', '\u{1fbf0}', '\u{1e030}', '\u{1e06d}', '\u{10781}',
  '', 'a', 'plain ASCII text, nothing to do.', '\u{10ffff}', '\ufffd', '\u{e0100}', '\u{e0001}',
].forEach(add);

// Long runs of marks (more than the 32 the insertion sort takes), on letters that compose.
add('a' + '\u0301\u0323'.repeat(50));
add('e' + '\u0345\u0301\u0334\u0323\u05b0'.repeat(20) + 'x');
add('\u0300'.repeat(40) + 'o' + '\u0308\u0304\u031b'.repeat(15));
add('\u1100' + '\u0301'.repeat(33) + '\u1161');

// Every non-starter, between a letter and marks of lower and higher classes, in both orders.
const nonStarters = [];
for (let c = 0; c < 0x110000; c++) {
  if (!isScalar(c)) continue;
  const s = S(c);
  if (s.normalize('NFD') !== s) continue;
  if (('\u0345' + s).normalize('NFD') === s + '\u0345' || (s + '\u0338').normalize('NFD') === '\u0338' + s) nonStarters.push(c);
}
for (const m of nonStarters) add('a' + S(0x0345, m, 0x0323));
for (const m of [0x340, 0x341, 0x343, 0x344]) add('a' + S(0x0345, m, 0x0323));

// Every primary composite, decomposed with its marks reversed (so NFC must reorder first), and
// every code point that NFC changes (singletons, exclusions, non-starter decompositions).
let cjkCompat = 0;
for (let c = 0; c < 0x110000; c++) {
  if (!isScalar(c) || isHangul(c)) continue;
  const s = S(c), d = s.normalize('NFD');
  if (d === s) continue;
  if (s.normalize('NFC') === s) {
    const a = cps(d);
    add(S(a[0], ...a.slice(1).reverse()));
  } else {
    const cjk = (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);
    if (!cjk || cjkCompat++ % 16 === 0) add(s + '\u0301');
  }
}
// Every 8th code point with a compatibility decomposition of its own.
let compat = 0;
for (let c = 0; c < 0x110000; c++) {
  if (!isScalar(c) || isHangul(c)) continue;
  const s = S(c);
  if (s.normalize('NFKD') !== s.normalize('NFD') && compat++ % 8 === 0) add(s);
}

// Exhaustive hashes. A context is a list of code points where -1 stands for c.
const contexts = [[-1], [0x61, -1], [-1, 0x345, 0x301, 0x323, 0x338], [0x1100, -1, 0x11a8]];
const blockShift = 13;
const nBlocks = 0x110000 >> blockShift;
function fnv(h, x) {
  return Math.imul(h ^ x, 16777619) >>> 0;
}
const hashes = {};
for (const f of forms) {
  hashes[f.toLowerCase()] = contexts.map(ctx => {
    const out = [];
    for (let b = 0; b < nBlocks; b++) {
      let h = 2166136261;
      for (let c = b << blockShift; c < (b + 1) << blockShift; c++) {
        if (!isScalar(c)) continue;
        const s = String.fromCodePoint(...ctx.map(x => (x < 0 ? c : x)));
        for (const ch of s.normalize(f)) h = fnv(h, ch.codePointAt(0));
        h = fnv(h, 0x110000);  // separator: not a code point
      }
      out.push(h);
    }
    return out;
  });
}

// One case or hash row per line, so that a change reads as a diff of lines.
const text = [
  '{',
  `"about": ${JSON.stringify('References for tests/tokenizers/test_normalize.cpp, written by tools/make_normalization_goldens.js')},`,
  `"node": ${JSON.stringify(process.version)}, "unicode": ${JSON.stringify(process.versions.unicode)},`,
  '"columns": ["input", "nfd", "nfc", "nfkd", "nfkc"],',
  '"cases": [',
  cases.map(c => JSON.stringify(c)).join(',\n'),
  '],',
  '"exhaustive": {',
  `"about": ${JSON.stringify('per form and context, 32-bit FNV-1a (one step per code point, then one with 0x110000 after each c) over each block of 2^block_shift code points, surrogates skipped')},`,
  `"block_shift": ${blockShift}, "contexts": ${JSON.stringify(contexts)},`,
  '"hashes": {',
  forms.map(f => `${JSON.stringify(f.toLowerCase())}: [\n` + hashes[f.toLowerCase()].map(r => JSON.stringify(r)).join(',\n') + ']').join(',\n'),
  '}}}',
  '',
].join('\n');
const file = path.join(__dirname, '..', 'tests', 'data', 'unicode_normalization.json');
fs.writeFileSync(file, text);
console.log(`wrote ${file} (${Buffer.byteLength(text)} bytes, ${cases.length} cases)`);
