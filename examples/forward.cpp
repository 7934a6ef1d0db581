// eigenformer-forward: runs a checkpoint folder (BERT, GPT-2 or LLaMA-style, HF layout) on one
// or more sequences as one packed batch and writes the outputs as F32 safetensors.
#include <eigenformer/core/parallel.hpp>
#include <eigenformer/core/weight_type.hpp>
#include <eigenformer/io/parse.hpp>
#include <eigenformer/io/safetensors.hpp>
#include <eigenformer/models/auto.hpp>
#include <eigenformer/tokenizers/auto.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <system_error>
#include <vector>

namespace ef = eigenformer;

namespace {

constexpr const char* usage = R"(usage: eigenformer-forward --model DIR (--text TEXT | --ids 5,17,42)... [options] --output OUT

Runs the model in DIR (config.json + model.safetensors or shards, as Hugging Face saves them;
model_type bert, gpt2 or llama) on each --text / --ids as one sequence of a packed batch, and
writes OUT as safetensors with F32 tensors:
  last_hidden_state  [batch, tokens, dim]   final hidden states
  pooler_output      [batch, dim]           BERT checkpoints with a pooler
  logits             [batch, tokens, vocab] models with an LM or masked-LM head
  lengths            [batch]                tokens of each sequence (rows past it are zeros)
then prints the shapes and a checksum of each tensor.

options:
  --model DIR             checkpoint folder (required)
  --text TEXT             a sequence given as text (tokenized with the folder's vocab.txt, or
                          vocab.json + merges.txt); BERT adds [CLS] and [SEP]
  --ids 5,17,42           a sequence given as token ids
  --token-type-ids 0,0,1  BERT token types of the preceding sequence (default all 0)
  --output OUT            the safetensors file to write (required)
  --threads N             threads (default: all)
  --dtype T               the linear layers' weights: f32 (default), bf16, int8 or int4
  -h, --help              this text
)";

[[noreturn]] void bad_usage(const std::string& msg) {
  std::fprintf(stderr, "eigenformer-forward: %s\n(see eigenformer-forward --help)\n", msg.c_str());
  std::exit(2);
}

std::vector<ef::token_id> parse_ids(const std::string& s, const char* what) {
  std::vector<ef::token_id> ids;
  if (auto e = ef::io::parse_integer_list<ef::token_id>(s, 0, std::numeric_limits<ef::token_id>::max(), ids))
    bad_usage(std::string(what) + ": " + *e);
  return ids;
}

// True when @p out names one of the files of the model folder (the checkpoint, its config, a
// tokenizer file): writing there would replace the model with its own output.
bool is_model_file(const std::filesystem::path& dir, const std::filesystem::path& out) {
  std::error_code ec;
  if (!std::filesystem::exists(out, ec)) return false;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (std::filesystem::equivalent(it->path(), out, ec)) return true;
  return false;
}

struct sequence {
  std::string text;
  bool is_text = false;
  std::vector<ef::token_id> ids, types;
  bool has_types = false;
};

// Rows of a packed [tokens, width] matrix into a zero-padded [batch, longest, width] buffer.
std::vector<float> pad(const ef::matrix& m, const std::vector<ef::index_t>& off, ef::index_t longest) {
  const ef::index_t batch = ef::index_t(off.size()) - 1, w = m.cols();
  std::vector<float> out(std::size_t(batch * longest * w), 0.0f);
  for (ef::index_t s = 0; s < batch; ++s)
    for (ef::index_t r = off[std::size_t(s)]; r < off[std::size_t(s) + 1]; ++r)
      for (ef::index_t c = 0; c < w; ++c)
        out[std::size_t((s * longest + (r - off[std::size_t(s)])) * w + c)] = m(r, c);
  return out;
}

void print_tensor(const char* name, const std::vector<std::int64_t>& shape, const std::vector<float>& v) {
  double sum = 0.0, abs_sum = 0.0;
  for (float x : v) {
    sum += x;
    abs_sum += std::abs(x);
  }
  std::printf("%-18s %-22s sum %.6e  sum|x| %.6e\n", name, ef::io::shape_string(shape).c_str(), sum, abs_sum);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_dir, output;
  std::vector<sequence> seqs;
  int threads = 0;
  std::string dtype = "f32";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) bad_usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      std::fputs(usage, stdout);
      return 0;
    } else if (a == "--model") {
      model_dir = value();
    } else if (a == "--output") {
      output = value();
    } else if (a == "--text") {
      seqs.push_back({value(), true, {}, {}, false});
    } else if (a == "--ids") {
      seqs.push_back({"", false, parse_ids(value(), "--ids"), {}, false});
    } else if (a == "--token-type-ids") {
      if (seqs.empty()) bad_usage("--token-type-ids must follow the --text or --ids it belongs to");
      if (seqs.back().has_types)
        bad_usage("--token-type-ids given twice for sequence " + std::to_string(seqs.size() - 1) +
                  " (each --text or --ids takes one)");
      seqs.back().types = parse_ids(value(), "--token-type-ids");
      seqs.back().has_types = true;
    } else if (a == "--threads") {
      if (auto e = ef::io::parse_integer(value(), 1, std::numeric_limits<int>::max(), threads)) bad_usage("--threads: " + *e);
    } else if (a == "--dtype") {
      dtype = value();
    } else {
      bad_usage("unknown argument '" + a + "'");
    }
  }
  if (model_dir.empty()) bad_usage("--model DIR is required");
  if (output.empty()) bad_usage("--output OUT is required");
  if (seqs.empty()) bad_usage("give at least one --text or --ids");

  if (is_model_file(model_dir, output)) bad_usage("--output " + output + " is a file of the model folder " + model_dir);

  try {
    // What the output's header will hold, checked before the work whose result it records.
    const std::map<std::string, std::string> metadata = {{"producer", "eigenformer-forward"}, {"model", model_dir}};
    ef::io::check_metadata(metadata, output);
    if (threads > 0 && ef::set_num_threads(threads) < threads)
      std::fprintf(stderr, "--threads %d: using %d, the most that can run here\n", threads, ef::num_threads());
    auto model = ef::models::load_model(model_dir, {.weights = ef::parse_weight_type(dtype, "--dtype")});
    bool need_tokenizer = false;
    for (const auto& s : seqs) need_tokenizer |= s.is_text;
    if (need_tokenizer) {
      auto tok = ef::tokenizers::any_tokenizer::from_folder(model_dir);
      for (auto& s : seqs)
        if (s.is_text) s.ids = tok.encode(s.text);
    }
    std::vector<ef::token_id> ids, types;
    std::vector<ef::index_t> off = {0};
    bool any_types = false;
    for (std::size_t k = 0; k < seqs.size(); ++k) {
      const auto& s = seqs[k];
      if (s.ids.empty()) bad_usage("sequence " + std::to_string(k) + " has no tokens");
      if (!s.types.empty() && s.types.size() != s.ids.size())
        bad_usage("--token-type-ids of sequence " + std::to_string(k) + ": expected " + std::to_string(s.ids.size()) +
                  " values, got " + std::to_string(s.types.size()));
      ids.insert(ids.end(), s.ids.begin(), s.ids.end());
      any_types |= !s.types.empty();
      if (s.types.empty()) types.insert(types.end(), s.ids.size(), 0);
      else types.insert(types.end(), s.types.begin(), s.types.end());
      off.push_back(off.back() + ef::index_t(s.ids.size()));
    }
    const auto batch = std::int64_t(seqs.size());
    ef::index_t longest = 0;
    for (std::size_t k = 0; k + 1 < off.size(); ++k) longest = std::max(longest, off[k + 1] - off[k]);

    std::vector<std::pair<std::string, std::pair<std::vector<std::int64_t>, std::vector<float>>>> outs;
    std::visit(
        [&](auto& m) {
          using M = std::decay_t<decltype(m)>;
          const ef::index_t t = ef::index_t(ids.size()), d = m.d_model();
          ef::matrix hidden(t, d);
          if constexpr (ef::models::is_encoder_v<M>) {
            if (any_types && !std::is_same_v<M, ef::models::bert<>>) bad_usage("--token-type-ids: ModernBERT has no token types");
            m.forward(ids, off, types, ef::view(hidden));
            outs.push_back({"last_hidden_state", {{batch, longest, d}, pad(hidden, off, longest)}});
            const auto h = ef::view(std::as_const(hidden));
            if constexpr (std::is_same_v<M, ef::models::bert<>>) {
              if (m.has_pooler()) {
                ef::matrix pooled(batch, d);
                m.pool(h, off, ef::view(pooled));
                outs.push_back({"pooler_output", {{batch, d}, std::vector<float>(pooled.data(), pooled.data() + pooled.size())}});
              }
            }
            const auto labels = ef::index_t(m.labels().size());
            if (m.head() == ef::io::encoder_head::sequence_classification) {
              ef::matrix logits(batch, labels);
              m.classify(h, off, ef::view(logits));
              outs.push_back({"logits", {{batch, labels}, std::vector<float>(logits.data(), logits.data() + logits.size())}});
            } else if (m.head() == ef::io::encoder_head::token_classification) {
              ef::matrix logits(t, labels);
              m.token_logits(h, ef::view(logits));
              outs.push_back({"logits", {{batch, longest, labels}, pad(logits, off, longest)}});
            } else if (m.has_mlm_head()) {
              ef::matrix logits(t, m.vocab_size());
              m.mlm_logits(h, ef::view(logits));
              outs.push_back({"logits", {{batch, longest, m.vocab_size()}, pad(logits, off, longest)}});
            }
          } else {
            if (any_types) bad_usage("--token-type-ids applies to BERT models only");
            m.forward(ids, off, ef::view(hidden));
            outs.push_back({"last_hidden_state", {{batch, longest, d}, pad(hidden, off, longest)}});
            ef::matrix logits(t, m.vocab_size());
            m.logits(ef::view(std::as_const(hidden)), ef::view(logits));
            outs.push_back({"logits", {{batch, longest, m.vocab_size()}, pad(logits, off, longest)}});
          }
        },
        model);
    std::vector<float> lengths;
    for (std::size_t k = 0; k + 1 < off.size(); ++k) lengths.push_back(float(off[k + 1] - off[k]));
    outs.push_back({"lengths", {{batch}, lengths}});
    std::vector<ef::io::tensor_to_write> tensors;
    for (const auto& [name, t] : outs) tensors.push_back({name, t.first, t.second.data()});
    ef::io::write_safetensors(output, tensors, metadata);
    for (const auto& [name, t] : outs) print_tensor(name.c_str(), t.first, t.second);
    std::printf("wrote %s\n", output.c_str());
  } catch (const ef::error& e) {
    std::fprintf(stderr, "eigenformer-forward: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {  // a failure the library did not type: still a message, not an abort
    std::fprintf(stderr, "eigenformer-forward: unexpected error: %s\n", e.what());
    return 1;
  }
  return 0;
}
