// Sentence embeddings as sentence-transformers computes them: a folder as it saves one
// (tools/make_sentence_transformers_fixtures.py: BERT, mean pooling without the prompt, Dense +
// Tanh, Normalize, prompts, max_seq_length) embeds to the float64 reference written from
// sentence-transformers' modules; every pooling mode against the same reference; and the
// folder errors the issue names.
#include <eigenformer/models/sentence_encoder.hpp>

#include "../support/check.hpp"
#include "../support/fixtures.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace ef = eigenformer;
using namespace eftest;
using Catch::Matchers::Contains;

namespace {

std::vector<float> flat_rows(const ef::matrix& m) { return std::vector<float>(m.data(), m.data() + m.size()); }

// Tolerance: float32 against float64 through two BERT layers of width 32 (as the presets' tests),
// then a pooling, one 32 -> 16 product, tanh and a norm, none of which amplifies: 1e-4.
constexpr double st_tol = 1e-4;

void st_compare(const std::string& label, const ef::matrix& got, const nlohmann::json& want) {
  require_close(label, flat_rows(got), want.get<std::vector<double>>(), [](std::size_t) { return st_tol; });
}

// A copy of the fixture folder in a fresh temporary directory, for the error cases.
std::filesystem::path st_copy(const std::string& tag) {
  const auto dir = std::filesystem::temp_directory_path() / ("eigenformer_st_" + tag);
  std::filesystem::remove_all(dir);
  std::filesystem::copy(model_dir("st_bert"), dir, std::filesystem::copy_options::recursive);
  return dir;
}
void st_write(const std::filesystem::path& file, const std::string& text) { std::ofstream(file) << text; }
std::string lower_to_upper_ascii(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = char(c - 'a' + 'A');
  return s;
}

}  // namespace

TEST_CASE("sentence-transformers folder: Pooling, Dense, Normalize and prompts give the reference embeddings",
          "[models][sentence]") {
  const auto ref = load_fixture("models/st_bert/reference.json");
  auto st = ef::models::sentence_encoder::load(model_dir("st_bert"));
  CHECK(st.dim() == 16);
  CHECK(st.max_seq_length() == 12);
  CHECK(st.config().normalize);
  CHECK(st.config().prompts.at("query") == "query: ");
  const auto texts = ref["texts"].get<std::vector<std::string>>();
  // The tokenizer gives the reference's ids (the last text truncated to max_seq_length).
  std::vector<ef::token_id> ids;
  for (const auto& t : texts) {
    const auto e = st.encoder().encode(t, st.max_seq_length());
    ids.insert(ids.end(), e.ids.begin(), e.ids.end());
  }
  CHECK(ids == ref["ids"].get<std::vector<ef::token_id>>());
  CHECK(st.prompt_length("query: ") == ref["prompt_length"].get<ef::index_t>());

  st_compare("embeddings", st.embed(texts), ref["embeddings"]);
  st_compare("query embeddings", st.embed(texts, {.prompt_name = "query"}), ref["query_embeddings"]);
  st_compare("query embeddings, prompt given", st.embed(texts, {.prompt = "query: ", .batch_tokens = 9}), ref["query_embeddings"]);
  // Unit vectors (Normalize), and Matryoshka truncation: the first 8 values, renormalized on request.
  const ef::matrix e = st.embed(texts);
  for (ef::index_t r = 0; r < e.rows(); ++r) CHECK(std::abs(e.row(r).norm() - 1.0f) < 1e-5f);
  // Texts are stripped before tokenizing, as sentence-transformers does.
  const std::vector<std::string> padded = {"  paris is the capital of france \n"};
  CHECK((st.embed(padded) - e.topRows(1)).cwiseAbs().maxCoeff() < 1e-6f);  // one text alone, not in a batch of four
  const ef::matrix t8 = st.embed(texts, {.truncate_dim = 8});
  REQUIRE(t8.cols() == 8);
  CHECK((t8 - e.leftCols(8)).cwiseAbs().maxCoeff() == 0.0f);
  const ef::matrix n8 = st.embed(texts, {.truncate_dim = 8, .normalize = true});
  for (ef::index_t r = 0; r < n8.rows(); ++r) {
    CHECK(std::abs(n8.row(r).norm() - 1.0f) < 1e-5f);
    CHECK((n8.row(r) - e.row(r).head(8) / e.row(r).head(8).norm()).cwiseAbs().maxCoeff() < 1e-6f);
  }
  CHECK_THROWS_WITH(st.embed(texts, {.prompt_name = "document"}), Contains("prompt name") && Contains("passage, query"));
  CHECK_THROWS_AS(st.embed(texts, {.truncate_dim = 17}), ef::config_error);
}

TEST_CASE("pool: every sentence-transformers mode, with and without the prompt", "[models][sentence]") {
  const auto ref = load_fixture("models/st_bert/reference.json");
  const auto offsets = ref["query_offsets"].get<std::vector<ef::index_t>>();
  const ef::index_t t = offsets.back(), d = 32, n = ef::index_t(offsets.size()) - 1;
  const ef::matrix hidden = fixture_matrix(ref["query_hidden"], t, d);
  const std::vector<ef::index_t> plen(std::size_t(n), ref["prompt_length"].get<ef::index_t>());
  for (const char* mode : {"cls", "max", "mean", "mean_sqrt_len", "weightedmean", "lasttoken"})
    for (bool include : {true, false}) {
      ef::models::pooling_config c{.include_prompt = include, .dim = d};
      const std::string m = mode;
      c.cls = m == "cls", c.max = m == "max", c.mean = m == "mean", c.mean_sqrt_len = m == "mean_sqrt_len";
      c.weighted_mean = m == "weightedmean", c.last_token = m == "lasttoken";
      ef::matrix out(n, d);
      ef::models::pool(c, ef::view(std::as_const(hidden)), offsets, plen, ef::view(out));
      // The pooling adds no error of its own beyond float32 sums of <= 12 rows.
      require_close(m + (include ? " including" : " excluding") + " the prompt", flat_rows(out),
                    ref["modes"][m + (include ? "/include" : "/exclude")].get<std::vector<double>>(),
                    [](std::size_t) { return 1e-5; });
    }
  // Several modes concatenate in sentence-transformers' order: cls, max, mean, ...
  ef::models::pooling_config all{.cls = true, .max = true, .mean = true, .dim = d};
  ef::matrix out(n, 3 * d), one(n, d);
  ef::models::pool(all, ef::view(std::as_const(hidden)), offsets, {}, ef::view(out));
  ef::models::pool({.max = true, .dim = d}, ef::view(std::as_const(hidden)), offsets, {}, ef::view(one));
  CHECK((out.middleCols(d, d) - one).cwiseAbs().maxCoeff() == 0.0f);
  // Everything masked: max gives -1e9, mean 0, last token the first token (as ST does).
  const std::vector<ef::index_t> whole = {0, 3};
  const std::vector<ef::index_t> skip = {3};
  ef::matrix h3 = ef::matrix::Random(3, d), r(1, 3 * d);
  ef::models::pool({.max = true, .mean = true, .last_token = true, .include_prompt = false, .dim = d}, ef::view(std::as_const(h3)), whole, skip,
                   ef::view(r));
  CHECK(r.row(0).head(d).maxCoeff() == -1e9f);
  CHECK(r.row(0).segment(d, d).cwiseAbs().maxCoeff() == 0.0f);
  CHECK(r.row(0).tail(d).cwiseAbs().maxCoeff() == 0.0f);  // ST gathers from hidden * mask
  // CLS with max on and its token masked reads max's in-place fill, as ST's view does.
  ef::matrix r2(1, 2 * d);
  const std::vector<ef::index_t> one_skip = {1};
  ef::models::pool({.cls = true, .max = true, .include_prompt = false, .dim = d}, ef::view(std::as_const(h3)), whole, one_skip,
                   ef::view(r2));
  CHECK(r2.row(0).head(d).maxCoeff() == -1e9f);
  CHECK((r2.row(0).tail(d) - h3.bottomRows(2).colwise().maxCoeff()).cwiseAbs().maxCoeff() == 0.0f);
  ef::matrix wrong(1, d);
  CHECK_THROWS_AS(ef::models::pool({.max = true, .dim = d}, ef::view(std::as_const(h3)), whole, {}, ef::view(r)), ef::shape_error);
  (void)wrong;
}

TEST_CASE("lower_full: Python's str.lower, final sigma included", "[models][sentence][tokenizers]") {
  namespace tk = ef::tokenizers;
  const auto lower = [](std::string_view s) { return tk::encode_utf8(tk::unicode::lower_full(tk::decode_utf8(s))); };
  // The expected strings are Python 3.11's "...".lower() of each input.
  CHECK(lower("HELLO World") == "hello world");
  CHECK(lower("\u039F\u0394\u039F\u03A3 \u039F\u0394\u039F\u03A3.") == "\u03BF\u03B4\u03BF\u03C2 \u03BF\u03B4\u03BF\u03C2.");  // ΟΔΟΣ ΟΔΟΣ. -> final ς twice
  CHECK(lower("\u03A3") == "\u03C3");                          // a lone Σ is not final
  CHECK(lower("\u0391\u03A3\u0301\u0392") == "\u03B1\u03C3\u0301\u03B2");  // a cased letter follows the accent
  CHECK(lower("\u0391\u03A3'") == "\u03B1\u03C2'");            // the apostrophe is case-ignorable
  CHECK(lower("\u0130stanbul") == "i\u0307stanbul");           // İ: the full mapping, two code points
  CHECK(lower("\u1E9E \u01C4 \u2126") == "\u00DF \u01C6 \u03C9");  // ẞ Ǆ Ω (the ohm sign)
  CHECK(lower("").empty());
}

TEST_CASE("sentence-transformers folder: the Transformer in a subfolder, and do_lower_case", "[models][sentence]") {
  const auto ref = load_fixture("models/st_bert/reference.json");
  const auto texts = ref["texts"].get<std::vector<std::string>>();
  auto top = ef::models::sentence_encoder::load(model_dir("st_bert"));
  // The layout older sentence-transformers versions save: the model's files in 0_Transformer/.
  const auto dir = st_copy("subfolder");
  std::filesystem::create_directory(dir / "0_Transformer");
  for (const char* f : {"config.json", "model.safetensors", "vocab.txt", "sentence_bert_config.json"})
    std::filesystem::rename(dir / f, dir / "0_Transformer" / f);
  const std::string modules = R"([{"idx":0,"name":"0","path":"0_Transformer","type":"sentence_transformers.models.Transformer"},)"
                              R"({"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},)"
                              R"({"idx":2,"name":"2","path":"2_Dense","type":"sentence_transformers.models.Dense"},)"
                              R"({"idx":3,"name":"3","path":"3_Normalize","type":"sentence_transformers.models.Normalize"}])";
  st_write(dir / "modules.json", modules);
  {
    auto sub = ef::models::sentence_encoder::load(dir);
    CHECK(sub.max_seq_length() == 12);  // sentence_bert_config.json read from 0_Transformer/
    CHECK_FALSE(sub.config().lower_case);
    CHECK((sub.embed(texts) - top.embed(texts)).cwiseAbs().maxCoeff() == 0.0f);  // the same model, the same batches
    st_compare("embeddings from 0_Transformer", sub.embed(texts), ref["embeddings"]);
    CHECK(sub.input_text("Query: ", "ΟΔΟΣ Paris \n") == "Query: ΟΔΟΣ Paris");
  }
  // do_lower_case lower-cases prompt and text before the tokenizer, as Python's str.lower.
  st_write(dir / "0_Transformer" / "sentence_bert_config.json", R"({"max_seq_length": 12, "do_lower_case": true})");
  {
    auto lc = ef::models::sentence_encoder::load(dir);
    CHECK(lc.config().lower_case);
    CHECK(lc.input_text(" Query: ", "ΟΔΟΣ \u0130 Paris ") == "query: οδος i\u0307 paris");
    CHECK(lc.prompt_length("QUERY: ") == top.prompt_length("query: "));
    // End to end (this fixture's WordPiece lower-cases too, so input_text above is what pins the
    // lower-casing itself): upper-case texts embed as the lower-case ones do.
    std::vector<std::string> upper;
    for (const auto& t : texts) upper.push_back(lower_to_upper_ascii(t));
    CHECK((lc.embed(upper) - top.embed(texts)).cwiseAbs().maxCoeff() == 0.0f);
  }
  st_write(dir / "0_Transformer" / "sentence_bert_config.json", R"({"do_lower_case": "yes"})");
  CHECK_THROWS_WITH(ef::models::read_sentence_transformers(dir),
                    Contains("do_lower_case") && Contains("true or false") && Contains("0_Transformer/sentence_bert_config.json"));
  // The subfolder must exist and stay inside the folder.
  st_write(dir / "modules.json", R"([{"idx":0,"name":"0","path":"9_Missing","type":"sentence_transformers.models.Transformer"},)"
                                 R"({"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"}])");
  CHECK_THROWS_AS(ef::models::read_sentence_transformers(dir), ef::io_error);
  st_write(dir / "modules.json", R"([{"idx":0,"name":"0","path":"../st_bert","type":"sentence_transformers.models.Transformer"},)"
                                 R"({"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"}])");
  CHECK_THROWS_WITH(ef::models::read_sentence_transformers(dir), Contains("modules[0].path") && Contains("inside the model folder"));
}

TEST_CASE("sentence-transformers folder errors name the file and the field", "[models][sentence][errors]") {
  {
    const auto dir = st_copy("nomode");
    st_write(dir / "1_Pooling" / "config.json", R"({"word_embedding_dimension": 32, "pooling_mode_mean_tokens": false})");
    CHECK_THROWS_WITH(ef::models::read_sentence_transformers(dir),
                      Contains("a pooling config with no mode") && Contains("1_Pooling/config.json"));
  }
  {  // A missing pooling_mode_mean_tokens is true (Pooling's default); "pooling_mode" names one mode.
    const auto dir = st_copy("defaults");
    st_write(dir / "1_Pooling" / "config.json", R"({"word_embedding_dimension": 32})");
    CHECK(ef::models::read_sentence_transformers(dir)->pooling.mean);
    st_write(dir / "1_Pooling" / "config.json", R"({"word_embedding_dimension": 32, "pooling_mode": "lasttoken"})");
    const auto p = ef::models::read_sentence_transformers(dir)->pooling;
    CHECK((p.last_token && !p.mean && p.modes() == 1));
  }
  {
    const auto dir = st_copy("unknownmode");
    st_write(dir / "1_Pooling" / "config.json", R"({"word_embedding_dimension": 32, "pooling_mode_median": true})");
    CHECK_THROWS_WITH(ef::models::read_sentence_transformers(dir), Contains("pooling_mode_median"));
  }
  for (const std::string bad : {"../outside", "/etc"}) {
    const auto dir = st_copy("outside");
    st_write(dir / "modules.json", R"([{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},)"
                                   R"({"idx":1,"name":"1","path":")" + bad + R"(","type":"sentence_transformers.models.Pooling"}])");
    CHECK_THROWS_WITH(ef::models::read_sentence_transformers(dir),
                      Contains("modules[1].path") && Contains("inside the model folder") && Contains("modules.json"));
  }
  {
    const auto dir = st_copy("type");
    st_write(dir / "modules.json", R"([{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},)"
                                   R"({"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.LSTM"}])");
    CHECK_THROWS_WITH(ef::models::read_sentence_transformers(dir), Contains("sentence_transformers.models.LSTM"));
  }
  {
    const auto dir = st_copy("dense");
    st_write(dir / "2_Dense" / "config.json",
             R"({"in_features": 32, "out_features": 8, "bias": true, "activation_function": "torch.nn.modules.activation.Tanh"})");
    CHECK_THROWS_WITH(ef::models::sentence_encoder::load(dir), Contains("expected shape [8") && Contains("2_Dense/model.safetensors"));
    st_write(dir / "2_Dense" / "config.json", R"({"in_features": 32, "out_features": 16, "activation_function": "torch.nn.modules.activation.Softplus"})");
    CHECK_THROWS_WITH(ef::models::sentence_encoder::load(dir), Contains("activation_function") && Contains("Softplus"));
    st_write(dir / "2_Dense" / "config.json", R"({"in_features": 32, "out_features": 16})");
    CHECK_THROWS_WITH(ef::models::sentence_encoder::load(dir), Contains("activation_function") && Contains("missing"));
    st_write(dir / "2_Dense" / "config.json", R"({"in_features": 24, "out_features": 16, "activation_function": "torch.nn.modules.activation.Tanh"})");
    CHECK_THROWS_WITH(ef::models::sentence_encoder::load(dir), Contains("in_features") && Contains("24"));
  }
  {
    const auto dir = st_copy("similarity");
    st_write(dir / "config_sentence_transformers.json", R"({"similarity_fn_name": "jaccard"})");
    CHECK_THROWS_WITH(ef::models::read_sentence_transformers(dir), Contains("similarity_fn_name") && Contains("jaccard"));
  }
  // No modules.json: a plain encoder folder, mean pooling by default.
  CHECK_FALSE(ef::models::read_sentence_transformers(model_dir("bert")).has_value());
}
