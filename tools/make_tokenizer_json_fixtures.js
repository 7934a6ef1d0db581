#!/usr/bin/env node
// Writes the small Hugging Face tokenizer.json fixtures in tests/data/tokenizer_json/, each a
// realistic configuration of one family of tokenizers, built only from files in this repository:
//   bert-wordpiece.json      WordPiece on tests/data/models/bert/vocab.txt (ids 0..63 unchanged,
//                            then letters, digits, punctuation and a few CJK characters so that
//                            most words are not [UNK]); BertNormalizer (lowercase, strip_accents
//                            null), BertPreTokenizer, TemplateProcessing [CLS] $A [SEP] / pair,
//                            WordPiece decoder; [PAD] [UNK] [CLS] [SEP] [MASK] special.
//   bert-added-tokens.json   the same model and pipeline with BertProcessing, and added tokens
//                            with every flag: lstrip, rstrip, single_word, normalized true/false,
//                            special and not.
//   gpt2-bytelevel.json      GPT-2 layout on models/kjv-gpt2 (vocab.json + merges.txt, merges as
//                            "a b" strings): ByteLevel pre-tokenizer (add_prefix_space false,
//                            use_regex true), ByteLevel post-processor and decoder,
//                            <|endoftext|> special (id 2047, in the vocabulary).
//   roberta-bytelevel.json   RoBERTa layout on the same BPE: <s> <pad> </s> <unk> at ids 0..3
//                            (the kjv ids shifted by 4, <|endoftext|> dropped), <mask> last with
//                            lstrip, then [NL] (rstrip) and <ent> (lstrip, rstrip, not special)
//                            outside the vocabulary; ByteLevel add_prefix_space true +
//                            trim_offsets, and RobertaProcessing (<s> $A </s> </s> $B </s>).
//   llama3-like.json         Llama 3 layout on the same BPE: Split(Llama 3's regex, Isolated) +
//                            ByteLevel(use_regex false), ignore_merges true, three whole words in
//                            the vocabulary that no merge makes (only ignore_merges finds them),
//                            Llama 3's special tokens after the vocabulary (not in it), and
//                            post-processor Sequence[ByteLevel, TemplateProcessing adding
//                            <|begin_of_text|>].
//   sentencepiece-bpe.json   Llama 2 layout: a BPE trained here (below) on
//                            tests/data/kjv_heldout.txt, 500 tokens: <unk> <s> </s>, <0x00>..<0xFF>,
//                            the merged pieces, the characters; byte_fallback, fuse_unk; merges
//                            as [a, b] pairs; normalizer Sequence[Prepend "▁", Replace " " -> "▁"];
//                            decoder Sequence[Replace "▁" -> " ", ByteFallback, Fuse, Strip 1 left];
//                            TemplateProcessing <s> $A / <s> $A <s> $B.
//   sentencepiece-bpe-metaspace.json  the same model with no normalizer and a Metaspace
//                            pre-tokenizer (prepend_scheme "first", split true) instead.
//   unigram.json             T5 layout: a Unigram vocabulary made here from substring counts of
//                            the same text ([piece, log-probability] pairs, <pad> </s> <unk> first,
//                            unk_id 2, byte_fallback false), normalizer Sequence[NFKC, Replace
//                            / {2,}/ -> " "] (T5 has a Precompiled charsmap first; NFKC stands in),
//                            pre-tokenizer Sequence[WhitespaceSplit, Metaspace always], Metaspace
//                            decoder, TemplateProcessing $A </s> / $A </s> $B </s>, <extra_id_N>.
// Metaspace configs carry "add_prefix_space": true next to "prepend_scheme" as tokenizers 0.14 to
// 0.18 wrote them: Rust reads prepend_scheme (add_prefix_space false alone would mean "never"),
// transformers.js prepends only when add_prefix_space is true.
// The learnt pieces never hold "▁" except as their first character (words are split at "▁"), so
// BPE and Unigram on a whole "▁"-joined string and on its Metaspace words agree.
// Deterministic: the same bytes on every run. The texts they are run on and the reference ids:
// tools/make_tokenizer_json_refs.js.
// Run: node tools/make_tokenizer_json_fixtures.js
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const outDir = path.join(root, 'tests', 'data', 'tokenizer_json');
const read = (p) => fs.readFileSync(path.join(root, p), 'utf8');

// ---- pieces of a tokenizer.json, in the key order tokenizers (Rust) writes them ----------------
function added(id, content, { special = true, lstrip = false, rstrip = false, single_word = false, normalized = false } = {}) {
  return { id, content, single_word, lstrip, rstrip, normalized, special };
}
function tokenizerJson({ added_tokens, normalizer = null, pre_tokenizer = null, post_processor = null, decoder = null, model }) {
  return { version: '1.0', truncation: null, padding: null, added_tokens, normalizer, pre_tokenizer, post_processor, decoder, model };
}
function bpeModel(vocab, merges, { unk_token = null, fuse_unk = false, byte_fallback = false, ignore_merges = false, gpt2Style = false } = {}) {
  return {
    type: 'BPE', dropout: null, unk_token,
    continuing_subword_prefix: gpt2Style ? '' : null, end_of_word_suffix: gpt2Style ? '' : null,
    fuse_unk, byte_fallback, ignore_merges, vocab, merges,
  };
}
const special = (id, typeId) => ({ SpecialToken: { id, type_id: typeId } });
const seq = (id, typeId) => ({ Sequence: { id, type_id: typeId } });
function template(single, pair, tokens) {
  const special_tokens = {};
  for (const [t, id] of tokens) special_tokens[t] = { id: t, ids: [id], tokens: [t] };
  return { type: 'TemplateProcessing', single, pair, special_tokens };
}
const byteLevel = (add_prefix_space, trim_offsets, use_regex) => ({ type: 'ByteLevel', add_prefix_space, trim_offsets, use_regex });
const metaspace = (prepend_scheme) => ({ type: 'Metaspace', replacement: '\u2581', add_prefix_space: true, prepend_scheme, split: true });
const llama2Decoder = {
  type: 'Sequence',
  decoders: [
    { type: 'Replace', pattern: { String: '\u2581' }, content: ' ' },
    { type: 'ByteFallback' },
    { type: 'Fuse' },
    { type: 'Strip', content: ' ', start: 1, stop: 0 },
  ],
};

function write(name, json) {
  const text = JSON.stringify(json, null, 2) + '\n';
  fs.writeFileSync(path.join(outDir, name), text);
  console.log(`wrote tests/data/tokenizer_json/${name}: ${text.length} bytes`);
  if (Buffer.byteLength(text) > 100000) throw new Error(`${name} is over 100 KB`);
}

// ---- WordPiece (BERT) -------------------------------------------------------------------------
function bertVocab() {
  const base = read('tests/data/models/bert/vocab.txt').split('\n').filter((l) => l.length > 0);
  const vocab = {};
  base.forEach((t, i) => { vocab[t] = i; });
  const extra = [];
  for (let c = 0x61; c <= 0x7a; ++c) extra.push(String.fromCharCode(c));
  for (let c = 0x30; c <= 0x39; ++c) extra.push(String.fromCharCode(c));
  for (const c of '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~') extra.push(c);
  for (let c = 0x61; c <= 0x7a; ++c) extra.push('##' + String.fromCharCode(c));
  for (let c = 0x30; c <= 0x39; ++c) extra.push('##' + String.fromCharCode(c));
  extra.push('中', '文', '本', '测', '试', '日', '語', '漢', '字', '𠮷', '野', '家', '##ment', '##ness', 'new', 'york');
  for (const t of extra) if (!(t in vocab)) vocab[t] = Object.keys(vocab).length;
  return vocab;
}
const bertNormalizer = { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true };
const wordPieceModel = (vocab) => ({ type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab });
const wordPieceDecoder = { type: 'WordPiece', prefix: '##', cleanup: true };
const bertSpecials = () => [
  added(0, '[PAD]'), added(1, '[UNK]'), added(2, '[CLS]'), added(3, '[SEP]'), added(4, '[MASK]'),
];

function makeBert() {
  const vocab = bertVocab();
  write('bert-wordpiece.json', tokenizerJson({
    added_tokens: bertSpecials(),
    normalizer: bertNormalizer,
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: template(
      [special('[CLS]', 0), seq('A', 0), special('[SEP]', 0)],
      [special('[CLS]', 0), seq('A', 0), special('[SEP]', 0), seq('B', 1), special('[SEP]', 1)],
      [['[CLS]', 2], ['[SEP]', 3]]),
    decoder: wordPieceDecoder,
    model: wordPieceModel(vocab),
  }));

  // Added tokens with every flag. Ids after the vocabulary, as tokenizers gives them.
  let next = Object.keys(vocab).length;
  const tokens = bertSpecials();
  tokens[4] = added(4, '[MASK]', { lstrip: true });            // like ALBERT's / RoBERTa's mask
  tokens.push(added(next++, '[NL]', { rstrip: true }));         // eats the whitespace after it
  tokens.push(added(next++, '<ent>', { special: false, lstrip: true, rstrip: true }));
  tokens.push(added(next++, 'ok', { special: false, single_word: true }));  // not inside "book"
  tokens.push(added(next++, 'new york', { special: false, normalized: true }));  // matches "New York"
  tokens.push(added(next++, '\u00e9clair', { special: false, normalized: true }));  // matched as "eclair"
  tokens.push(added(next++, 'Paris', { special: false }));      // raw text only: not "paris"
  write('bert-added-tokens.json', tokenizerJson({
    added_tokens: tokens,
    normalizer: bertNormalizer,
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: { type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] },
    decoder: wordPieceDecoder,
    model: wordPieceModel(vocab),
  }));
}

// ---- byte-level BPE (GPT-2, RoBERTa, Llama 3) on models/kjv-gpt2 ------------------------------
function kjv() {
  const vocab = JSON.parse(read('models/kjv-gpt2/vocab.json'));
  const lines = read('models/kjv-gpt2/merges.txt').split('\n');
  if (lines[0].startsWith('#version')) lines.shift();
  const merges = lines.filter((l) => l.length > 0);
  return { vocab, merges };
}

function makeByteLevel() {
  const { vocab, merges } = kjv();
  if (vocab['<|endoftext|>'] !== 2047) throw new Error('kjv-gpt2: <|endoftext|> is not id 2047');
  write('gpt2-bytelevel.json', tokenizerJson({
    added_tokens: [added(2047, '<|endoftext|>')],
    pre_tokenizer: byteLevel(false, true, true),
    post_processor: byteLevel(true, false, true),
    decoder: byteLevel(true, true, true),
    model: bpeModel(vocab, merges, { gpt2Style: true }),
  }));

  // RoBERTa: specials first, the byte-level vocabulary after them, <mask> last.
  const rv = { '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3 };
  for (const [t, id] of Object.entries(vocab)) if (t !== '<|endoftext|>') rv[t] = id + 4;
  const mask = Object.keys(rv).length;
  rv['<mask>'] = mask;
  write('roberta-bytelevel.json', tokenizerJson({
    added_tokens: [
      added(0, '<s>', { normalized: true }), added(1, '<pad>', { normalized: true }),
      added(2, '</s>', { normalized: true }), added(3, '<unk>', { normalized: true }),
      added(mask, '<mask>', { lstrip: true }),
      // Added later (tokenizer.add_tokens), not in the model's vocabulary; here, unlike after
      // BertPreTokenizer, the whitespace they strip changes the ids.
      added(mask + 1, '[NL]', { rstrip: true }),
      added(mask + 2, '<ent>', { special: false, lstrip: true, rstrip: true }),
    ],
    pre_tokenizer: byteLevel(true, true, true),
    post_processor: { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: true },
    decoder: byteLevel(true, true, true),
    model: bpeModel(rv, merges, { gpt2Style: true }),
  }));

  // Llama 3: whole words that no merge builds (BPE splits them: only ignore_merges finds them).
  const lv = { ...vocab };
  for (const w of ['\u0120Nebuchadnezzar', '\u0120Melchizedek', 'Hallelujah']) lv[w] = Object.keys(lv).length;
  let next = Object.keys(lv).length;
  const specials = ['<|begin_of_text|>', '<|end_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>']
    .map((t) => added(next++, t));
  const bot = specials[0].id;
  write('llama3-like.json', tokenizerJson({
    added_tokens: specials,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        {
          type: 'Split',
          pattern: { Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" },
          behavior: 'Isolated',
          invert: false,
        },
        byteLevel(false, true, false),
      ],
    },
    post_processor: {
      type: 'Sequence',
      processors: [
        byteLevel(true, false, true),
        template(
          [special('<|begin_of_text|>', 0), seq('A', 0)],
          [special('<|begin_of_text|>', 0), seq('A', 0), special('<|begin_of_text|>', 1), seq('B', 1)],
          [['<|begin_of_text|>', bot]]),
      ],
    },
    decoder: byteLevel(true, true, true),
    model: bpeModel(lv, merges, { ignore_merges: true }),
  }));
}

// ---- SentencePiece-style BPE (Llama 2) trained here ---------------------------------------------
// Words: each whitespace-separated word of the text with "▁" before it, counted. Merges: the most
// frequent adjacent pair, ties to the smaller (left, right) in code-unit order, until the
// vocabulary has `size` tokens.
function kjvWords() {
  const counts = new Map();
  for (const w of read('tests/data/kjv_heldout.txt').split(/\s+/)) {
    if (w.length === 0) continue;
    const k = '\u2581' + w;
    counts.set(k, (counts.get(k) || 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function trainBpe(size) {
  const words = kjvWords().map(([w, n]) => ({ sym: Array.from(w), n }));
  const charCount = new Map();
  for (const { sym, n } of words) for (const c of sym) charCount.set(c, (charCount.get(c) || 0) + n);
  const chars = [...charCount.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map((e) => e[0]);
  const specials = ['<unk>', '<s>', '</s>'];
  const bytes = Array.from({ length: 256 }, (_, i) => `<0x${i.toString(16).toUpperCase().padStart(2, '0')}>`);
  const pieces = [];
  const seen = new Set([...specials, ...bytes, ...chars]);
  const merges = [];
  while (specials.length + bytes.length + pieces.length + chars.length < size) {
    const pairs = new Map();
    for (const { sym, n } of words) {
      for (let i = 0; i + 1 < sym.length; ++i) {
        const k = sym[i] + '\u0000' + sym[i + 1];
        pairs.set(k, (pairs.get(k) || 0) + n);
      }
    }
    let best = null;
    let bestN = 0;
    for (const [k, n] of pairs) if (n > bestN || (n === bestN && k < best)) { best = k; bestN = n; }
    if (best === null || bestN < 2) break;
    const [a, b] = best.split('\u0000');
    if (b.includes('\u2581')) throw new Error('a merge with "▁" inside');
    merges.push([a, b]);
    const m = a + b;
    if (!seen.has(m)) { seen.add(m); pieces.push(m); }
    for (const w of words) {
      const s = w.sym;
      const out = [];
      for (let i = 0; i < s.length; ++i) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) { out.push(m); ++i; } else out.push(s[i]);
      }
      w.sym = out;
    }
  }
  const vocab = {};
  for (const t of [...specials, ...bytes, ...pieces, ...chars]) vocab[t] = Object.keys(vocab).length;
  return { vocab, merges };
}

function makeSentencePieceBpe() {
  const { vocab, merges } = trainBpe(500);
  const common = {
    added_tokens: [added(0, '<unk>'), added(1, '<s>'), added(2, '</s>')],
    post_processor: template(
      [special('<s>', 0), seq('A', 0)],
      [special('<s>', 0), seq('A', 0), special('<s>', 1), seq('B', 1)],
      [['<s>', 1]]),
    decoder: llama2Decoder,
    model: bpeModel(vocab, merges, { unk_token: '<unk>', fuse_unk: true, byte_fallback: true }),
  };
  write('sentencepiece-bpe.json', tokenizerJson({
    ...common,
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '\u2581' },
        { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' },
      ],
    },
  }));
  write('sentencepiece-bpe-metaspace.json', tokenizerJson({ ...common, pre_tokenizer: metaspace('first') }));
}

// ---- Unigram (T5) -------------------------------------------------------------------------------
// Pieces: every character of the text, and the most frequent substrings of 2..8 characters of its
// "▁"-prefixed words ("▁" only first), counted over the words; score ln(count / total), less a
// millionth per rank so that no two pieces score the same.
function makeUnigram(size) {
  const words = kjvWords();
  const counts = new Map();
  const chars = new Map();
  for (const [w, n] of words) {
    const cs = Array.from(w);
    for (const c of cs) chars.set(c, (chars.get(c) || 0) + n);
    for (let i = 0; i < cs.length; ++i) {
      for (let len = 2; len <= 8 && i + len <= cs.length; ++len) {
        const s = cs.slice(i, i + len).join('');
        counts.set(s, (counts.get(s) || 0) + n);
      }
    }
  }
  const byCount = (a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  const specials = ['<pad>', '</s>', '<unk>'];
  const nPieces = size - specials.length - chars.size;
  const multi = [...counts.entries()].filter((e) => e[1] >= 3).sort(byCount).slice(0, nPieces);
  const all = [...multi, ...chars.entries()].sort(byCount);
  const total = all.reduce((s, e) => s + e[1], 0);
  const vocab = specials.map((t) => [t, 0.0]);
  all.forEach(([p, n], rank) => vocab.push([p, Math.log(n / total) - rank * 1e-6]));
  const extraIds = ['<extra_id_0>', '<extra_id_1>'];
  for (const t of extraIds) vocab.push([t, 0.0]);
  const n = vocab.length;
  write('unigram.json', tokenizerJson({
    added_tokens: [
      added(0, '<pad>'), added(1, '</s>'), added(2, '<unk>'),
      added(n - 2, extraIds[0]), added(n - 1, extraIds[1]),
    ],
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFKC' }, { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' }],
    },
    pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' }, metaspace('always')] },
    post_processor: template(
      [seq('A', 0), special('</s>', 0)],
      [seq('A', 0), special('</s>', 0), seq('B', 0), special('</s>', 0)],
      [['</s>', 1]]),
    decoder: metaspace('always'),
    model: { type: 'Unigram', unk_id: 2, vocab, byte_fallback: false },
  }));
}

fs.mkdirSync(outDir, { recursive: true });
makeBert();
makeByteLevel();
makeSentencePieceBpe();
makeUnigram(500);
