// The encoder presets beyond BERT: ModernBERT (global and sliding-window layers, two RoPE bases,
// GeGLU, optional biases), RoBERTa / XLM-R (positions after the padding row, lm_head and the
// two-layer classifier), and the classification heads of every encoder, each loaded from a
// folder in the exact HF layout (tools/make_encoder_fixtures.py) and checked against a float64
// PyTorch implementation written from HF's modelling code, on one packed batch of three
// sequences of different lengths (longer than ModernBERT's window).
#include <eigenformer/models/auto.hpp>
#include <eigenformer/models/text_encoder.hpp>

#include "../support/check.hpp"
#include "../support/fixtures.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

namespace ef = eigenformer;
using namespace eftest;
using Catch::Matchers::Contains;

namespace {

std::vector<float> flat(const ef::matrix& m) { return std::vector<float>(m.data(), m.data() + m.size()); }

// Tolerance: the reference is float64 from the same stored weights; eigenformer runs float32
// through 2-4 layers of width 32 (sums of <= 48 terms of O(1)), LayerNorms that amplify by at
// most 1/std of a row, and heads of one or two more products. Measured differences are a few
// 1e-6; 1e-4 is the issue's bound for fp32.
constexpr double tol = 1e-4;

void compare(const std::string& label, const ef::matrix& got, const nlohmann::json& want) {
  require_close(label, flat(got), want.get<std::vector<double>>(), [](std::size_t) { return tol; });
}

// hidden, then the head the folder's architecture names, against reference.json.
template <class Model>
Model check_encoder(const std::string& name, ef::io::encoder_head head, ef::index_t labels = 0) {
  const auto ref = load_fixture("models/" + name + "/reference.json");
  const auto in = read_model_inputs(ref);
  auto model = Model::load(model_dir(name));
  REQUIRE(model.head() == head);
  const ef::index_t t = ef::index_t(in.ids.size()), n = ef::index_t(in.offsets.size()) - 1, d = model.d_model();
  ef::matrix hidden(t, d);
  model.forward(in.ids, in.offsets, in.types, ef::view(hidden));
  compare(name + " hidden", hidden, ref["hidden"]);
  const auto h = ef::view(std::as_const(hidden));
  if (head == ef::io::encoder_head::masked_lm) {
    ef::matrix logits(t, model.vocab_size());
    model.mlm_logits(h, ef::view(logits));
    compare(name + " MLM logits", logits, ref["logits"]);
  } else if (head == ef::io::encoder_head::sequence_classification) {
    REQUIRE(ef::index_t(model.labels().size()) == labels);
    ef::matrix logits(n, labels);
    model.classify(h, in.offsets, ef::view(logits));
    compare(name + " sequence logits", logits, ref["logits"]);
    // The other heads are refused by name, not run.
    ef::matrix tok(t, labels);
    CHECK_THROWS_AS(model.token_logits(h, ef::view(tok)), ef::config_error);
  } else if (head == ef::io::encoder_head::token_classification) {
    REQUIRE(ef::index_t(model.labels().size()) == labels);
    ef::matrix logits(t, labels);
    model.token_logits(h, ef::view(logits));
    compare(name + " token logits", logits, ref["logits"]);
    ef::matrix seq(n, labels);
    CHECK_THROWS_AS(model.classify(h, in.offsets, ef::view(seq)), ef::config_error);
  }
  return model;
}

ef::io::model_config parse_cfg(const std::string& text) {
  return ef::io::parse_config(nlohmann::json::parse(text), "config.json");
}

}  // namespace

TEST_CASE("modernbert preset: HF ModernBertForMaskedLM layout, local and global layers, tied decoder", "[models][modernbert]") {
  auto m = check_encoder<ef::models::modernbert<>>("modernbert", ef::io::encoder_head::masked_lm);
  // global_attn_every_n_layers 3 over 4 layers: 0 and 3 global, 1 and 2 within the window.
  CHECK(m.is_global(0));
  CHECK_FALSE(m.is_global(1));
  CHECK_FALSE(m.is_global(2));
  CHECK(m.is_global(3));
}

TEST_CASE("modernbert preset: sequence classifier (mean pooling, every bias, BF16) and token classifier",
          "[models][modernbert]") {
  auto cls = check_encoder<ef::models::modernbert<>>("modernbert_cls", ef::io::encoder_head::sequence_classification, 3);
  CHECK(cls.labels() == std::vector<std::string>{"anger", "joy", "neutral"});
  auto tok = check_encoder<ef::models::modernbert<>>("modernbert_tokcls", ef::io::encoder_head::token_classification, 5);
  CHECK(tok.labels().front() == "B-PER");
  ef::matrix h(1, tok.d_model()), l(1, tok.vocab_size());
  CHECK_THROWS_WITH(tok.mlm_logits(ef::view(std::as_const(h)), ef::view(l)), Contains("MLM head"));
}

TEST_CASE("roberta / xlm-roberta presets: positions after the padding row, lm_head, classifier", "[models][roberta]") {
  check_encoder<ef::models::bert<>>("roberta", ef::io::encoder_head::masked_lm);
  check_encoder<ef::models::bert<>>("xlm_roberta_cls", ef::io::encoder_head::sequence_classification, 1);
  // The position table holds max_position_embeddings - (pad_token_id + 1) tokens: one more is refused.
  auto m = ef::models::bert<>::load(model_dir("roberta"));
  const ef::index_t longest = m.max_sequence();
  CHECK(longest == m.config().max_position_embeddings - m.config().pad_token_id - 1);
  std::vector<ef::token_id> ids(std::size_t(longest) + 1, 5);
  std::vector<ef::index_t> off = {0, longest + 1};
  ef::matrix hidden(longest + 1, m.d_model());
  CHECK_THROWS_AS(m.forward(ids, off, {}, ef::view(hidden)), ef::shape_error);
}

TEST_CASE("bert classification heads: sequence (pooler + classifier) and token", "[models][bert]") {
  auto cls = check_encoder<ef::models::bert<>>("bert_cls", ef::io::encoder_head::sequence_classification, 2);
  CHECK(cls.labels() == std::vector<std::string>{"negative", "positive"});
  check_encoder<ef::models::bert<>>("bert_tokcls", ef::io::encoder_head::token_classification, 4);
}

TEST_CASE("text_encoder: packed batches under a token budget give each item's own logits", "[models][text_encoder]") {
  const auto ref = load_fixture("models/bert_cls/reference.json");
  const auto in = read_model_inputs(ref);
  std::vector<ef::tokenizers::encoding> items;
  for (std::size_t s = 0; s + 1 < in.offsets.size(); ++s) {
    const auto a = std::size_t(in.offsets[s]), b = std::size_t(in.offsets[s + 1]);
    items.push_back({{in.ids.begin() + std::ptrdiff_t(a), in.ids.begin() + std::ptrdiff_t(b)},
                     {in.types.begin() + std::ptrdiff_t(a), in.types.begin() + std::ptrdiff_t(b)}});
  }
  auto enc = ef::models::text_encoder::load(model_dir("bert_cls"));
  // Budgets of 1 (one item a batch), 12 (the first two together) and everything in one batch.
  for (ef::index_t budget : {1, 12, 4096}) {
    std::vector<std::size_t> batch_sizes;
    ef::models::for_each_batch(std::span<const ef::tokenizers::encoding>(items), budget,
                               [&](const ef::models::packed_batch& b) { batch_sizes.push_back(b.offsets.size() - 1); });
    CHECK(batch_sizes == (budget == 1 ? std::vector<std::size_t>{1, 1, 1}
                          : budget == 12 ? std::vector<std::size_t>{2, 1} : std::vector<std::size_t>{3}));
    compare("bert_cls logits, budget " + std::to_string(budget),
            enc.classify(std::span<const ef::tokenizers::encoding>(items), budget), ref["logits"]);
  }
  CHECK_THROWS_AS(enc.classify(std::span<const ef::tokenizers::encoding>(items), 0), ef::config_error);
  CHECK_THROWS_WITH(enc.token_logits(items[0]), Contains("ForTokenClassification"));

  // A cross-encoder scores (query, passage) pairs as the tokenizer joins them: [CLS] q [SEP] p [SEP].
  auto rr = ef::models::text_encoder::load(model_dir("bert_reranker"));
  const std::vector<std::string> passages = {"paris is the capital of france", "hello world", "she said what"};
  const auto scores = rr.rerank("the capital", passages);
  REQUIRE(scores.size() == 3);
  for (std::size_t i = 0; i < passages.size(); ++i) {
    const auto pair = rr.encode_pair("the capital", passages[i]);
    CHECK(pair.token_types.back() == 1);
    // Alone or in a batch of three: the same pair, up to the float32 rounding a batch's row
    // blocking may change (the scalar kernels'), far below the scores' differences (~0.1).
    CHECK(std::abs(rr.classify(std::span(&pair, 1))(0, 0) - scores[i]) < 1e-5f);
  }
  // Truncation keeps the pair within the positions, longest first: the query stays whole.
  std::string long_passage;
  for (int i = 0; i < 40; ++i) long_passage += "the world ";
  const auto cut = rr.encode_pair("the capital", long_passage);
  CHECK(ef::index_t(cut.ids.size()) == rr.max_sequence());
  CHECK(cut.ids[1] == rr.tokenizer().token_to_id("the"));
  CHECK(cut.ids[2] == rr.tokenizer().token_to_id("capital"));
}

TEST_CASE("load_model picks the encoder preset by model_type", "[models][auto]") {
  CHECK(std::holds_alternative<ef::models::modernbert<>>(ef::models::load_model(model_dir("modernbert"))));
  CHECK(std::holds_alternative<ef::models::bert<>>(ef::models::load_model(model_dir("xlm_roberta_cls"))));
}

TEST_CASE("encoder configs: heads and options the presets do not implement are refused by name", "[models][errors]") {
  const std::string mb = R"("model_type":"modernbert","vocab_size":64,"hidden_size":32,"intermediate_size":24,)"
                         R"("num_hidden_layers":2,"num_attention_heads":2)";
  CHECK_NOTHROW(parse_cfg("{" + mb + "}"));
  CHECK_THROWS_WITH(parse_cfg("{" + mb + R"(,"classifier_pooling":"max"})"),
                    Contains("classifier_pooling") && Contains("\"max\" (not supported)"));
  CHECK_THROWS_WITH(parse_cfg("{" + mb + R"(,"hidden_activation":"silu"})"), Contains("hidden_activation"));
  CHECK_THROWS_WITH(parse_cfg("{" + mb + R"(,"classifier_activation":"softplus"})"), Contains("classifier_activation"));
  CHECK_THROWS_WITH(parse_cfg("{" + mb + R"(,"local_attention":5})"), Contains("local_attention"));
  CHECK_THROWS_WITH(parse_cfg("{" + mb + R"(,"layer_types":["full_attention"]})"), Contains("layer_types"));
  CHECK_THROWS_WITH(parse_cfg("{" + mb + R"(,"layer_types":["full_attention","chunked_attention"]})"),
                    Contains("layer_types[1]"));
  // Current transformers' form: layer_types (as global_attn_every_n_layers says) and rope_parameters.
  const auto lt = std::get<ef::io::modernbert_config>(parse_cfg(
      "{" + mb + R"(,"global_attn_every_n_layers":2,"layer_types":["full_attention","sliding_attention"],)"
                 R"("rope_parameters":{"full_attention":{"rope_type":"default","rope_theta":80000.0},)"
                 R"("sliding_attention":{"rope_type":"default","rope_theta":5000.0}}})"));
  CHECK(lt.global_layers == std::vector<bool>{true, false});
  CHECK(lt.global_rope_theta == 80000.0);
  CHECK(lt.local_rope_theta == 5000.0);
  CHECK_THROWS_WITH(parse_cfg("{" + mb + R"(,"layer_types":["sliding_attention","full_attention"]})"),
                    Contains("layer_types[0]"));
  CHECK_THROWS_WITH(parse_cfg("{" + mb + R"(,"rope_parameters":{"full_attention":{"rope_type":"yarn","rope_theta":2.0}}})"),
                    Contains("rope_parameters.full_attention.rope_type"));
  CHECK_THROWS_WITH(parse_cfg("{" + mb + R"(,"rope_scaling":{"type":"linear","factor":2}})"), Contains("rope_scaling"));

  const std::string rb = R"("model_type":"roberta","vocab_size":64,"hidden_size":32,"num_hidden_layers":1,)"
                         R"("num_attention_heads":2,"intermediate_size":48,"max_position_embeddings":20,"pad_token_id":1)";
  const auto r = std::get<ef::io::bert_config>(parse_cfg("{" + rb + "}"));
  CHECK(r.position_offset() == 2);
  CHECK(r.max_sequence() == 18);
  CHECK_THROWS_WITH(parse_cfg("{" + rb + R"(,"architectures":["RobertaForQuestionAnswering"]})"),
                    Contains("architectures") && Contains("RobertaForQuestionAnswering"));
  CHECK_THROWS_WITH(parse_cfg("{" + rb + R"(,"id2label":{"0":"a","2":"b"}})"), Contains("id2label"));
  CHECK_THROWS_WITH(parse_cfg("{" + rb + R"(,"id2label":{"0":"a","1":"b"},"num_labels":3})"), Contains("num_labels"));
  CHECK_THROWS_WITH(parse_cfg("{" + rb + R"(,"problem_type":"ranking"})"), Contains("problem_type"));
  const auto two = std::get<ef::io::bert_config>(parse_cfg("{" + rb + R"(,"architectures":["RobertaForSequenceClassification"]})"));
  CHECK(two.head.labels == std::vector<std::string>{"LABEL_0", "LABEL_1"});
  CHECK_THROWS_WITH(parse_cfg(R"({"model_type":"roberta","vocab_size":64,"hidden_size":32,"num_hidden_layers":1,)"
                              R"("num_attention_heads":2,"intermediate_size":48,"max_position_embeddings":2,"pad_token_id":1})"),
                    Contains("max_position_embeddings"));
}

// Every weight type reaches the new presets through the part loaders. Bounds on the relative
// Frobenius error of the hidden states against f32 (random weights, width 32): bf16 rounds each
// weight to 8 bits of mantissa (2^-9 relative), int8 and int4 quantise per group (and the
// activations per row) to 127 and 7 levels; measured 0.002-0.003, 0.008-0.012 and 0.10-0.13, the
// bounds are about 3x, 2.5x and 2x those.
TEST_CASE("encoder presets load every weight type", "[models][weights]") {
  const auto check = [](const std::string& name, auto load) {
    const auto ref = load_fixture("models/" + name + "/reference.json");
    const auto in = read_model_inputs(ref);
    ef::matrix base;
    for (auto [type, bound] : {std::pair{ef::weight_type::f32, 0.0}, {ef::weight_type::bf16, 0.01},
                               {ef::weight_type::int8, 0.03}, {ef::weight_type::int4, 0.25}}) {
      auto m = load(ef::load_options{.weights = type});
      ef::matrix h(ef::index_t(in.ids.size()), m.d_model());
      m.forward(in.ids, in.offsets, in.types, ef::view(h));
      if (type == ef::weight_type::f32) {
        base = h;
        continue;
      }
      const double rel = double((h - base).norm() / base.norm());
      INFO(name << " " << ef::weight_type_name(type) << ": relative error " << rel);
      CHECK(rel > 0.0);  // the weights really are stored another way
      CHECK(rel < bound);
    }
  };
  check("modernbert", [](const ef::load_options& o) { return ef::models::modernbert<>::load(model_dir("modernbert"), o); });
  check("modernbert_cls", [](const ef::load_options& o) { return ef::models::modernbert<>::load(model_dir("modernbert_cls"), o); });
  check("roberta", [](const ef::load_options& o) { return ef::models::bert<>::load(model_dir("roberta"), o); });
}

// The shipped encoder (models/kjv-modernbert, trained by tools/train_shipped_encoder.py): its
// tokenizer.json gives the ids the training script's own tokenizer gave, and the model matches
// the training script's float64 forward on the stored F16 weights: hidden states of three texts
// in one packed batch (6 layers of width 192: the same 1e-4 budget, measured in the test's
// output), and the logits at the [MASK] with the same top five.
TEST_CASE("shipped ModernBERT MLM: tokenizer ids, hidden states and fill-mask logits match its training script",
          "[models][modernbert][shipped]") {
  const char* data = std::getenv("EIGENFORMER_TEST_DATA_DIR");
  REQUIRE(data);
  const auto dir = std::filesystem::path(data).parent_path().parent_path() / "models" / "kjv-modernbert";
  const auto ref = ef::io::read_json(dir / "reference.json");
  auto enc = ef::models::text_encoder::load(dir);
  std::vector<ef::token_id> ids;
  std::vector<ef::index_t> off = {0};
  for (const auto& t : ref["texts"]) {
    const auto e = enc.encode(t.get<std::string>());
    ids.insert(ids.end(), e.ids.begin(), e.ids.end());
    off.push_back(off.back() + ef::index_t(e.ids.size()));
  }
  CHECK(ids == ref["ids"].get<std::vector<ef::token_id>>());
  CHECK(off == ref["offsets"].get<std::vector<ef::index_t>>());
  auto& m = std::get<ef::models::modernbert<>>(enc.model());
  ef::matrix hidden(off.back(), m.d_model());
  m.forward(ids, off, ef::view(hidden));
  compare("kjv-modernbert hidden", hidden, ref["hidden"]);
  const auto pos = ref["mask_positions"][0].get<ef::index_t>();
  ef::matrix logits(1, m.vocab_size());
  m.mlm_logits(ef::rows(ef::view(std::as_const(hidden)), pos, 1), ef::view(logits));
  compare("kjv-modernbert logits at [MASK]", logits, ref["mask_logits"]);
  std::vector<ef::index_t> order(std::size_t(m.vocab_size()));
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + 5, order.end(), [&](ef::index_t a, ef::index_t b) { return logits(0, a) > logits(0, b); });
  for (std::size_t k = 0; k < 5; ++k) CHECK(order[k] == ref["mask_top5"][0][k][0].get<ef::index_t>());
}
