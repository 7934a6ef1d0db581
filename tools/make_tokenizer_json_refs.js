#!/usr/bin/env node
// Writes tests/data/tokenizer_json/refs.json: what Hugging Face tokenizer.json files give on a
// list of texts, for the C++ tokenizer.json loader's tests. Tokenizers: every fixture of
// tools/make_tokenizer_json_fixtures.js, and the real Qwen3, Llama 3 and Gemma 3 files that
// tools/fetch_tokenizer_files.sh caches (run it first; its folder is the argument here).
//
// The reference is @lenml/tokenizers@3.7.2 (transformers.js's tokenizers), run on each file with
// its tokenizer_config.json (the fixtures: a plain PreTrainedTokenizer), decoding with
// clean_up_tokenization_spaces false. Every value is checked against Hugging Face's own Rust
// implementation, tokenizers@0.23.2's Node addon (the cache's js/hf-tokenizers): a value goes into
// `cases` only when the two agree; where they do not, the case leaves it out and `deviations`
// holds both, with its causes. Each cause is an entry of DEVIATIONS below, with the tokenizers and
// texts it can explain: a deviation that none explains stops the script, and so does an entry
// that explains nothing any more. The causes the texts show (transformers.js against Rust):
//   - added tokens with normalized true are matched on the raw text only (Rust: on the
//     normalized text, against their normalized content), and single_word ones inside words too;
//   - every added token joins the model's vocabulary, so a normalized word can become one
//     ("OK" -> "ok" -> the added token "ok" in WordPiece);
//   - BertNormalizer's CJK spacing walks UTF-16 code units: no spaces around ideographs past
//     U+FFFF (U+20BB7 inside "a𠮷b");
//   - WhitespaceSplit uses JavaScript's \s (U+FEFF in, U+0085 out; Rust the other way round);
//   - the ByteFallback decoder's TextDecoder drops a byte run's leading U+FEFF;
//   - RobertaProcessing gives a pair's second part type id 1 (Rust: 0 throughout).
// Departures of transformers.js that cannot show here, checked by hand with both: Metaspace
// ignores `split` (no id can change: the fixtures' pieces hold "▁" only first), and prepends
// only with add_prefix_space true (Rust: prepend_scheme decides; add_prefix_space false with a
// scheme other than "never" is an error there), so the fixtures write both keys; Split knows only
// Isolated and Removed (Gemma's MergedWithPrevious " " has no space left after its normalizer);
// ByteFallback decodes an invalid byte run with U+FFFD per maximal subpart (Rust: the whole run
// becomes one U+FFFD per byte, "<0xE4><0xB8><0xAD><0xFF>" -> 4 of them); the ByteLevel decoder
// passes added tokens through as they are (Rust maps their characters back to bytes too: "<é>"
// decodes to "<\ufffd>", "Ġx" to " x"; the same for ASCII tokens); decode([]) throws (Rust: "",
// recorded here); and transformers' clean_up_tokenization_spaces is not a step of Rust's
// Tokenizer::decode (Llama 3's tokenizer_config.json sets it true for transformers): not applied.
// The regex pre-tokenizers (ByteLevel's, Split's) agreed on U+0085, U+FEFF, U+180E and U+2028.
//
// refs.json (one case a line):
//   { "generator", "node", "unicode", "reference", "cross_check",
//     "texts": [string, ...],                       the texts, referred to by index
//     "pairs": [[a, b], ...],                       indices into texts: (text, text_pair)
//     "tokenizers": [ {
//        "name", "file" (in tests/data/tokenizer_json) or "cache_file" (in the cache folder),
//        "sha256" of that file, "pair_template": bool,
//        "cases": [ { "text": i, "ids": [..], "ids_no_special": [..],
//                     "decode": str, "decode_skip_special": str }, ... ]   one per text, in order
//        "pair_cases": [ { "pair": k, "ids": [..], "type_ids": [..] }, ... ]  when pair_template
//        "deviations": [ { "kind": "single"|"pair", "text"|"pair": i, "fields": [..],
//                          "reference": {..}, "hf": {..}, "causes": [str, ..] }, ... ] } ] }
//   ids: encode(text) with the post-processor's special tokens; ids_no_special: without (added
//   tokens in the text are matched either way); decode / decode_skip_special: decode(ids) keeping
//   / dropping the special added tokens, the decoder's output as it is. A field that deviates is
//   missing from its case, and so are the decodes when the ids deviate. In a deviation,
//   "reference" and "hf" hold each implementation's own values (its decodes of its own ids);
//   "hf" is what Hugging Face tokenizers gives.
//
// Run: node tools/make_tokenizer_json_refs.js "$(tools/fetch_tokenizer_files.sh)"
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const cache = process.argv[2] || path.join(process.env.HOME, '.cache', 'eigenformer', 'tokenizers');
const root = path.join(__dirname, '..');
const dataDir = path.join(root, 'tests', 'data', 'tokenizer_json');
const lenmlDir = path.join(cache, 'js', 'lenml-tokenizers');
const hfDir = path.join(cache, 'js', 'hf-tokenizers');
for (const p of [lenmlDir, hfDir, path.join(cache, 'qwen3', 'tokenizer.json')]) {
  if (!fs.existsSync(p)) {
    console.error(`make_tokenizer_json_refs: ${p} missing; run tools/fetch_tokenizer_files.sh and pass the folder it prints`);
    process.exit(1);
  }
}
const { TokenizerLoader } = require(path.join(lenmlDir, 'dist', 'main.js'));
const HF = require(hfDir);
const lenmlVersion = JSON.parse(fs.readFileSync(path.join(lenmlDir, 'package.json'), 'utf8')).version;
const hfVersion = JSON.parse(fs.readFileSync(path.join(hfDir, 'package.json'), 'utf8')).version;

// ---- texts -----------------------------------------------------------------------------------
// tools/tokenizer_corpus.json (the golden corpus of the vocab.json/vocab.txt tokenizers), then
// these: contractions in capitals, numbers, whitespace of every kind, emoji sequences, scripts,
// NFC against NFD, byte fallback, the fixtures' and the real files' added tokens inside text.
const EXTRA = [
  'HE\'S HERE, WE\'LL SEE, THEY\'RE OUT, I\'VE, YOU\'D, I\'M: \'S \'LL \'RE \'VE \'M \'D \'T',
  'O\'SULLIVAN\'S L\'LLAMA D\'ARTAGNAN\'S ROCK\'N\'ROLL I\'VERY\'TIRED o\'sullivan',
  'don\'t can\'t won\'t it\'s we\'re y\'all o\'clock rock\'n\'roll',
  '1234567 3.14 0.001 12,345,678 99999999999 -0 +1 1/2 ½ ² ٣ 一二三',
  'a \t b\t\tc \t',
  'line one\r\nline two\r\n\r\nend\r',
  'trailing space ',
  '  two leading spaces',
  ' ',
  '  ',
  'x',
  '\u00a0nbsp\u00a0here\u00a0 narrow\u202fnbsp thin\u2009space ideographic\u3000space',
  'zero\u200bwidth joiner\u200dnon\u200cjoiner',
  'family 👨‍👩‍👧‍👦 flag 🏳️‍🌈 skin 👍🏿 keycap 1️⃣ flags 🇯🇵🇬🇧',
  '漢字とカタカナ、中文，𠮷野家 and 𠀀',
  'CJK extension B inside a word: a𠮷b',
  'next\u0085line, bom\ufeffhere, mongolian\u180evowel, line\u2028separator',
  '안녕하세요, 세계! 한국어',
  'مرحبا بالعالم، هذا نص عربي.',
  'שלום עולם',
  'नमस्ते दुनिया',
  'ภาษาไทยไม่มีช่องว่าง',
  'Ελληνικά: Σίσυφος ΣΊΣΥΦΟΣ',
  'café naïve Ångström (NFC)',
  'cafe\u0301 nai\u0308ve A\u030angstro\u0308m (NFD)',
  'İstanbul ǅemal ﬀ ﬁ ﬂ Ⅻ ㎞ ｆｕｌｌ　ｗｉｄｔｈ',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 and Zürich, quiz, Xerxes, vexed',
  'And God said unto Moses, I AM THAT I AM: and he said, Thus shalt thou say.',
  'Türkçe: dikkat, merkez, milyon, tekrar, tarihi, mevcut',
  'Hallelujah! Nebuchadnezzar and Melchizedek went up to Jerusalem.',
  'The capital of France is Paris, and hello world to paris.',
  'hello [MASK] world',
  'a    [MASK]    b',
  '[CLS] hello [SEP] world [SEP]',
  '[NL]   next line[NL]x',
  'before <ent>   after <ent>',
  'ok then, book, okay, OK, ok.',
  'New York and new york, NEW YORK',
  'Éclair, éclair, e\u0301clair, eclair',
  '<s> hello </s> <pad> <unk>',
  '<s>hello</s>world',
  'Paris is the <mask> of France. <mask>!',
  '<|endoftext|>',
  'a<|endoftext|>b <|endoftext|> ',
  '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>',
  '<|im_start|>user\nhi<|im_end|>',
  '<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nOK<|im_end|>',
  '<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n',
  '<bos>text<eos> <table><tr><td>x</td></tr></table>',
  'spaces\u2581already\u2581here ▁▁',
  '\n\n\n\nfour newlines then\t\t\ttabs',
  '<extra_id_0> fill <extra_id_1>',
  'x'.repeat(120),
  'Honorificabilitudinitatibus Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch',
];
const corpus = JSON.parse(fs.readFileSync(path.join(__dirname, 'tokenizer_corpus.json'), 'utf8'));
// SentencePiece's normalization rules (the Precompiled normalizer): combining marks on mapped
// characters (clusters of under 6 bytes and of more), compatibility forms, Hangul jamo, regional
// indicators, CR LF, NUL, and the width forms SentencePiece special-cases.
const PRECOMPILED = [
  '\uFF21\u0301', 'e\u0301 E\u0301 \u00C5\u0301', '\u1100\u1161\u11A8 \u1100\u1161', '\u2460\u2461 \u216B \u338F \u2103',
  '\uFF76\uFF9E \uFF76', '\uFB01\u0301 \uFB01', 'a\u3000b\u00A0c', 'a\u200Bb\u200Dc', '\uFEFFx', 'a\u0000b',
  '\u{1F1EB}\u{1F1F7}\u{1F1E9}\u{1F1EA}', '\u0915\u094D\u0937', '\u212B \u2126', 'a\r\nb\rc\nd', 'A\u030A\u0301',
  '\uFF5E\u301C', '\u{1D400}\u{1D401}', '\u00BD \u00B2 \u2075', 'e\u0301\u0301\u0301',
  '\u0627\u0644\u0633\u0651\u064E\u0644\u0627\u0645', 'I\u0307 \u0130', '\uAC00\u11A8',
];
const TEXTS = [...corpus, ...EXTRA, ...PRECOMPILED];
if (new Set(TEXTS).size !== TEXTS.length) throw new Error('duplicate texts');
const at = (t) => { const i = TEXTS.indexOf(t); if (i < 0) throw new Error(`no text ${JSON.stringify(t)}`); return i; };
const PAIRS = [
  ['Hello, world!', 'The quick brown fox jumps over the lazy dog.'],
  ['', 'Hello, world!'],
  ['Hello, world!', ''],
  ['', ''],
  ['DON\'T SHOUT: IT\'S LOUD\'S', 'don\'t can\'t won\'t it\'s we\'re y\'all o\'clock rock\'n\'roll'],
  ['中文文本测试，这是一个句子。', 'Mixed 中文 and English 混合 text'],
  ['   leading spaces', 'trailing spaces   '],
  ['hello [MASK] world', 'The capital of France is Paris, and hello world to paris.'],
  ['Paris is the <mask> of France. <mask>!', '<s> hello </s> <pad> <unk>'],
  ['<|im_start|>user\nhi<|im_end|>', 'Emoji: 😀🎉👍🏽 ❤️ 🇫🇷 family: 👨‍👩‍👧‍👦'],
  ['And God said unto Moses, I AM THAT I AM: and he said, Thus shalt thou say.', 'Hallelujah! Nebuchadnezzar and Melchizedek went up to Jerusalem.'],
  ['x', ' '],
].map(([a, b]) => [at(a), at(b)]);

// ---- tokenizers --------------------------------------------------------------------------------
const FIXTURE_CONFIG = { tokenizer_class: 'PreTrainedTokenizer', clean_up_tokenization_spaces: false };
const TOKENIZERS = [
  'bert-wordpiece', 'bert-added-tokens', 'gpt2-bytelevel', 'roberta-bytelevel', 'llama3-like',
  'sentencepiece-bpe', 'sentencepiece-bpe-metaspace', 'unigram', 't5-unigram-spm',
].map((name) => ({ name, file: `${name}.json`, path: path.join(dataDir, `${name}.json`), config: FIXTURE_CONFIG }))
  .concat(['qwen3', 'llama3', 'gemma3'].map((name) => ({
    name,
    cache_file: `${name}/tokenizer.json`,
    path: path.join(cache, name, 'tokenizer.json'),
    config: JSON.parse(fs.readFileSync(path.join(cache, name, 'tokenizer_config.json'), 'utf8')),
  })));

// t5-unigram-spm.json is tools/make_unigram_tokenizer.py's conversion of a SentencePiece model;
// its reference is SentencePiece itself (the model's own EncodeAsIds, through that script),
// checked against Hugging Face's Rust tokenizers like the others. transformers.js is no
// reference for it: its Precompiled ignores the charsmap and applies NFKC and a few
// replacements instead. SentencePiece gives ids only: `ids` is its ids and T5's </s> (as the
// slow T5Tokenizer appends it), a pair is a </s> b </s> with type ids 0; the decodes are
// Hugging Face's alone (SentencePiece writes " \u2047 " for <unk> and has no switch for special
// tokens).
const SPM_REFERENCE = { 't5-unigram-spm': 'sentencepiece (python3-sentencepiece, tools/make_unigram_tokenizer.py --encode)' };
function sentencepieceIds(texts) {
  const r = require('child_process').spawnSync('/usr/bin/python3', [path.join(root, 'tools', 'make_unigram_tokenizer.py'), '--encode'],
    { input: JSON.stringify(texts), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`make_unigram_tokenizer.py --encode failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function hasPairTemplate(pp) {
  if (pp === null) return false;
  if (pp.type === 'Sequence') return pp.processors.some(hasPairTemplate);
  return pp.type === 'TemplateProcessing' || pp.type === 'BertProcessing' || pp.type === 'RobertaProcessing';
}

// ---- the deviations of transformers.js that the data shows -----------------------------------
// A deviation is explained by every entry whose tokenizer, kind, fields and texts match it; one
// that none explains stops the script, and so does an entry that explains nothing any more.
const has = (...needles) => (texts) => texts.some((t) => needles.some((n) => (n instanceof RegExp ? n.test(t) : t.includes(n))));
const DEVIATIONS = [
  {
    cause: 'added token with normalized true: transformers.js matches it on the raw text only; Rust matches it on the normalized text, its content normalized too ("New York" -> "new york", "Éclair" -> "eclair")',
    tokenizers: ['bert-added-tokens'],
    texts: has('New York', 'NEW YORK', 'Éclair', 'e\u0301clair', 'eclair'),
  },
  {
    cause: 'added token with single_word true: transformers.js matches it inside words too ("book", "okay", "Tokenization"); Rust only with no word character on either side',
    tokenizers: ['bert-added-tokens'],
    texts: has('book', 'okay', 'Tokenization'),
  },
  {
    cause: 'transformers.js puts every added token into the model\'s vocabulary, so WordPiece finds the added token "ok" in the normalized word "OK" -> "ok"; Rust\'s model knows only its own vocabulary (o ##k)',
    tokenizers: ['bert-added-tokens'],
    texts: has(/\bOK\b/),
  },
  {
    cause: 'BertNormalizer handle_chinese_chars: transformers.js walks UTF-16 code units and misses ideographs past U+FFFF (U+20BB7 in "a\u{20BB7}b" gets no spaces around it: one word, [UNK])',
    tokenizers: ['bert-wordpiece', 'bert-added-tokens'],
    texts: has('a\u{20BB7}b'),
  },
  {
    cause: 'WhitespaceSplit: JavaScript\'s \\s has U+FEFF and lacks U+0085; Rust\'s char::is_whitespace the other way round',
    tokenizers: ['unigram'],
    texts: has('\u0085', '\ufeff'),
  },
  {
    cause: 'ByteFallback decoder: transformers.js\'s TextDecoder drops a U+FEFF (BOM) at the start of each run of byte tokens; Rust keeps it',
    tokenizers: ['sentencepiece-bpe', 'sentencepiece-bpe-metaspace'],
    fields: ['decode', 'decode_skip_special'],
    texts: has('\ufeff'),
  },
  {
    cause: 'SentencePiece does not match control symbols written in the text: Hugging Face\'s conversion makes them added tokens (</s>, <pad>, <unk>, <extra_id_N>), matched before the model; SentencePiece encodes their characters',
    tokenizers: ['t5-unigram-spm'],
    texts: has('</s>', '<pad>', '<unk>', '<extra_id_'),
  },
  {
    cause: 'Precompiled: Hugging Face looks up each extended grapheme cluster of under 6 UTF-8 bytes whole and replaces it with the replacement of the shortest key it starts with, dropping the rest of the cluster ("\uFF21\u0301" -> "A", "\uFB01\u0301" -> "fi", "e\u0301\u0301" -> "e"), and looks the characters of longer clusters up one by one ("\uFF76\uFF9E" is not composed); SentencePiece takes the longest key at each position',
    tokenizers: ['t5-unigram-spm'],
    texts: has('\uFF21\u0301', '\uFB01\u0301', '\uFF76\uFF9E', 'A\u030A\u0301', 'e\u0301\u0301'),
  },
  {
    cause: 'RobertaProcessing pair: transformers.js gives the second sequence and the separator before it type id 1; Rust gives 0 everywhere',
    tokenizers: ['roberta-bytelevel'],
    kind: 'pair',
    fields: ['type_ids'],
    texts: () => true,
  },
];

function explain(tokName, kind, texts, fields) {
  return DEVIATIONS.filter((d) => d.tokenizers.includes(tokName) && (!d.kind || d.kind === kind) &&
    (!d.fields || fields.every((f) => d.fields.includes(f))) && d.texts(texts)).map((d) => d.cause);
}

// ---- running both ------------------------------------------------------------------------------
const sha256 = (p) => crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

function lenmlRecord(tok, text) {
  const ids = tok.encode(text, { add_special_tokens: true });
  const dec = (skip) => (ids.length === 0 ? '' : tok.decode(ids, { skip_special_tokens: skip, clean_up_tokenization_spaces: false }));
  return {
    ids,
    ids_no_special: tok.encode(text, { add_special_tokens: false }),
    decode: dec(false),
    decode_skip_special: dec(true),
  };
}
async function hfRecord(tok, text) {
  const ids = (await tok.encode(text, null, { addSpecialTokens: true })).getIds();
  return {
    ids,
    ids_no_special: (await tok.encode(text, null, { addSpecialTokens: false })).getIds(),
    decode: await tok.decode(ids, false),
    decode_skip_special: await tok.decode(ids, true),
  };
}
function lenmlPair(tok, a, b) {
  const r = tok._call(a, { text_pair: b, add_special_tokens: true, return_token_type_ids: true });
  return { ids: r.input_ids, type_ids: r.token_type_ids };
}
async function hfPair(tok, a, b) {
  const e = await tok.encode(a, b, { addSpecialTokens: true });
  return { ids: e.getIds(), type_ids: e.getTypeIds() };
}

async function run(t, unexplained) {
  const json = JSON.parse(fs.readFileSync(t.path, 'utf8'));
  const hf = HF.Tokenizer.fromFile(t.path);
  let single, pair;
  if (SPM_REFERENCE[t.name]) {
    const spm = sentencepieceIds(TEXTS);
    const eos = spm.eos_id;
    single = async (i) => {
      const h = await hfRecord(hf, TEXTS[i]);
      return { ids: [...spm.ids[i], eos], ids_no_special: spm.ids[i], decode: h.decode, decode_skip_special: h.decode_skip_special };
    };
    pair = async (a, b) => {
      const ids = [...spm.ids[a], eos, ...spm.ids[b], eos];
      return { ids, type_ids: ids.map(() => 0) };
    };
  } else {
    const ref = TokenizerLoader.fromPreTrained({ tokenizerJSON: json, tokenizerConfig: t.config });
    single = async (i) => lenmlRecord(ref, TEXTS[i]);
    pair = async (a, b) => lenmlPair(ref, TEXTS[a], TEXTS[b]);
  }
  const out = { name: t.name };
  if (t.file) out.file = t.file; else out.cache_file = t.cache_file;
  out.sha256 = sha256(t.path);
  if (SPM_REFERENCE[t.name]) out.reference = SPM_REFERENCE[t.name];
  out.pair_template = hasPairTemplate(json.post_processor);
  out.cases = [];
  out.deviations = [];
  const record = (kind, key, index, r, h, texts) => {
    const fields = Object.keys(h).filter((f) => !same(r[f], h[f]));
    const kept = {};
    kept[key] = index;
    for (const f of Object.keys(h)) {
      if (fields.includes(f)) continue;
      if (f.startsWith('decode') && fields.includes('ids')) continue;
      kept[f] = r[f];
    }
    if (fields.length > 0) {
      const causes = explain(t.name, kind, texts, fields);
      if (causes.length === 0) unexplained.push({ tokenizer: t.name, kind, texts, fields, reference: r, hf: h });
      const dev = { kind };
      dev[key] = index;
      Object.assign(dev, { fields, reference: r, hf: h, causes });
      out.deviations.push(dev);
    }
    return kept;
  };
  for (let i = 0; i < TEXTS.length; ++i) {
    out.cases.push(record('single', 'text', i, await single(i), await hfRecord(hf, TEXTS[i]), [TEXTS[i]]));
  }
  if (out.pair_template) {
    out.pair_cases = [];
    for (let k = 0; k < PAIRS.length; ++k) {
      const [a, b] = PAIRS[k].map((i) => TEXTS[i]);
      out.pair_cases.push(record('pair', 'pair', k, await pair(...PAIRS[k]), await hfPair(hf, a, b), [a, b]));
    }
  }
  return out;
}

(async () => {
  const unexplained = [];
  const results = [];
  for (const t of TOKENIZERS) {
    const r = await run(t, unexplained);
    results.push(r);
    console.log(`${t.name}: ${r.cases.length} texts, ${(r.pair_cases || []).length} pairs, ${r.deviations.length} deviations`);
  }
  if (unexplained.length > 0) {
    for (const u of unexplained) console.error(JSON.stringify(u));
    console.error(`make_tokenizer_json_refs: ${unexplained.length} deviations that no DEVIATIONS entry explains`);
    process.exit(1);
  }
  // Every DEVIATIONS entry must still be needed.
  for (const d of DEVIATIONS) {
    if (!results.some((r) => r.deviations.some((x) => x.causes.includes(d.cause)))) {
      console.error(`make_tokenizer_json_refs: no deviation left for: ${d.cause}`);
      process.exit(1);
    }
  }
  const lines = [];
  lines.push('{');
  lines.push(` "generator": "tools/make_tokenizer_json_refs.js",`);
  lines.push(` "node": ${JSON.stringify(process.version)},`);
  lines.push(` "unicode": ${JSON.stringify(process.versions.unicode)},`);
  lines.push(` "reference": ${JSON.stringify(`@lenml/tokenizers@${lenmlVersion}`)},`);
  lines.push(` "cross_check": ${JSON.stringify(`tokenizers@${hfVersion} (Hugging Face tokenizers, Rust, Node addon)`)},`);
  lines.push(` "texts": [\n  ${TEXTS.map((s) => JSON.stringify(s)).join(',\n  ')}\n ],`);
  lines.push(` "pairs": ${JSON.stringify(PAIRS)},`);
  lines.push(' "tokenizers": [');
  results.forEach((r, ti) => {
    const head = {};
    for (const k of ['name', 'file', 'cache_file', 'sha256', 'reference', 'pair_template']) if (k in r) head[k] = r[k];
    const h = JSON.stringify(head);
    const parts = [`  ${h.slice(0, -1)},`];
    parts.push(`   "cases": [\n    ${r.cases.map((c) => JSON.stringify(c)).join(',\n    ')}\n   ],`);
    if (r.pair_cases) parts.push(`   "pair_cases": [\n    ${r.pair_cases.map((c) => JSON.stringify(c)).join(',\n    ')}\n   ],`);
    parts.push(`   "deviations": [${r.deviations.length ? '\n    ' + r.deviations.map((c) => JSON.stringify(c)).join(',\n    ') + '\n   ' : ''}]`);
    parts.push(`  }${ti + 1 < results.length ? ',' : ''}`);
    lines.push(parts.join('\n'));
  });
  lines.push(' ]');
  lines.push('}');
  const text = lines.join('\n') + '\n';
  JSON.parse(text);
  const outPath = path.join(dataDir, 'refs.json');
  fs.writeFileSync(outPath, text);
  console.log(`wrote tests/data/tokenizer_json/refs.json: ${Buffer.byteLength(text)} bytes`);
})().catch((e) => { console.error(e); process.exit(1); });
