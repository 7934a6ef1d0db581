// eigenformer-generate: streams text from a GPT-2 or LLaMA-style checkpoint folder.
#include <eigenformer/core/parallel.hpp>
#include <eigenformer/core/weight_type.hpp>
#include <eigenformer/generation/generate.hpp>
#include <eigenformer/io/file.hpp>
#include <eigenformer/io/parse.hpp>
#include <eigenformer/models/auto.hpp>
#include <eigenformer/tokenizers/auto.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <string>
#include <vector>

namespace ef = eigenformer;
namespace eg = eigenformer::generation;

namespace {

constexpr const char* usage = R"(usage: eigenformer-generate --model DIR (--prompt TEXT | --ids 5,17,42) [options]

Generates text with the decoder-only model in DIR (config.json model_type gpt2 or llama,
model.safetensors, and vocab.json + merges.txt to read and write text), streaming tokens as they
come, then prints the prefill and decode speed.

options:
  --prompt TEXT            the prompt as text
  --ids 5,17,42            the prompt as token ids
  --max-tokens N           new tokens at most (default 64)
  --temperature T          0 = greedy (default 0.8)
  --top-k K                keep the K most likely tokens (default 40; 0 = off)
  --top-p P                nucleus sampling (default 0.95; 1 = off)
  --min-p M                drop tokens below M x the most likely one's probability (default 0)
  --repetition-penalty R   CTRL-style penalty on tokens already present (default 1 = off)
  --seed S                 the random seed (default 0); the same seed gives the same text
  --beams B                beam search with B beams (default 1 = sampling; at most 256)
  --threads N              threads (default: all; clamped to what can run)
  --dtype T                the linear layers' weights: f32 (default), bf16, int8 or int4
  --kv-dtype T             the K/V cache's rows: f32 (default) or bf16 (half the bytes per step)
  --print-ids              also print the whole id sequence (prompt + generated) as "ids: ..."
  -h, --help               this text
)";

[[noreturn]] void bad_usage(const std::string& msg) {
  std::fprintf(stderr, "eigenformer-generate: %s\n(see eigenformer-generate --help)\n", msg.c_str());
  std::exit(2);
}

template <class T>
T integer(const std::string& opt, const std::string& v, T min, T max) {
  T x{};
  if (auto e = ef::io::parse_integer(v, min, max, x)) bad_usage(opt + ": " + *e);
  return x;
}
float number(const std::string& opt, const std::string& v) {
  float x = 0.0f;
  if (auto e = ef::io::parse_float(v, x)) bad_usage(opt + ": " + *e);
  return x;
}

// Length of the longest prefix of s that does not end inside a UTF-8 sequence.
std::size_t complete_utf8(const std::string& s) {
  std::size_t n = s.size(), i = n;
  for (std::size_t back = 0; back < 4 && i > 0; ++back) {
    const auto c = static_cast<unsigned char>(s[i - 1]);
    if ((c & 0xc0) == 0x80) {
      --i;
      continue;
    }
    const std::size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return (n - (i - 1)) >= need ? n : i - 1;
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir, prompt, ids_arg;
  bool have_prompt = false, print_ids = false;
  eg::generate_options opt;
  opt.sampling.temperature = 0.8f;
  opt.sampling.top_k = 40;
  opt.sampling.top_p = 0.95f;
  int threads = 0;
  std::string dtype = "f32";
  std::string kv_dtype = "f32";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) bad_usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      std::fputs(usage, stdout);
      return 0;
    } else if (a == "--model") dir = value();
    else if (a == "--prompt") { prompt = value(); have_prompt = true; }
    else if (a == "--ids") ids_arg = value();
    else if (a == "--max-tokens") opt.max_tokens = integer(a, value(), 1, std::numeric_limits<int>::max());
    else if (a == "--temperature") opt.sampling.temperature = number(a, value());
    else if (a == "--top-k") opt.sampling.top_k = integer(a, value(), 0, std::numeric_limits<int>::max());
    else if (a == "--top-p") opt.sampling.top_p = number(a, value());
    else if (a == "--min-p") opt.sampling.min_p = number(a, value());
    else if (a == "--repetition-penalty") opt.sampling.repetition_penalty = number(a, value());
    else if (a == "--seed") opt.sampling.seed = integer<std::uint64_t>(a, value(), 0, std::numeric_limits<std::uint64_t>::max());
    else if (a == "--beams") opt.beams = integer(a, value(), 1, eg::generate_options::max_beams);
    else if (a == "--threads") threads = integer(a, value(), 1, std::numeric_limits<int>::max());
    else if (a == "--dtype") dtype = value();
    else if (a == "--kv-dtype") kv_dtype = value();
    else if (a == "--print-ids") print_ids = true;
    else bad_usage("unknown argument '" + a + "'");
  }
  if (dir.empty()) bad_usage("--model DIR is required");
  if (have_prompt == !ids_arg.empty()) bad_usage("give exactly one of --prompt TEXT or --ids 5,17,42");

  try {
    opt.validate();
    const ef::load_options load{.weights = ef::parse_weight_type(dtype, "--dtype"),
                                .kv_cache = ef::parse_weight_type(kv_dtype, "--kv-dtype")};
    if (threads > 0 && ef::set_num_threads(threads) < threads)
      std::fprintf(stderr, "--threads %d: using %d, the most that can run here\n", threads, ef::num_threads());
    const auto t0 = std::chrono::steady_clock::now();
    std::fprintf(stderr, "loading %s ...\n", dir.c_str());
    auto model = ef::models::load_model(dir, load);
    std::optional<ef::tokenizers::any_tokenizer> tok;
    if (ef::io::exists(std::filesystem::path(dir) / "vocab.json") || ef::io::exists(std::filesystem::path(dir) / "vocab.txt"))
      tok = ef::tokenizers::any_tokenizer::from_folder(dir);
    std::fprintf(stderr, "loaded in %.2f s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());

    std::vector<ef::token_id> ids;
    if (have_prompt) {
      if (!tok) bad_usage("--prompt needs vocab.json + merges.txt in the model folder; use --ids");
      ids = tok->encode(prompt, false);
      if (ids.empty()) bad_usage("--prompt: the text has no tokens");
    } else {
      if (auto e = ef::io::parse_integer_list<ef::token_id>(ids_arg, 0, std::numeric_limits<ef::token_id>::max(), ids))
        bad_usage("--ids: " + *e);
    }

    eg::generate_result res;
    std::string pending;
    const auto on_token = [&](std::size_t, ef::token_id t) {
      if (!tok) {
        std::printf("%d ", t);
      } else {
        pending += tok->decode(std::span<const ef::token_id>(&t, 1));
        const std::size_t n = complete_utf8(pending);
        std::fwrite(pending.data(), 1, n, stdout);
        pending.erase(0, n);
      }
      std::fflush(stdout);
    };
    std::visit(
        [&](auto& m) {
          using M = std::decay_t<decltype(m)>;
          if constexpr (ef::models::is_encoder_v<M>) {
            throw ef::config_error("[eigenformer.generate] model_type: expected gpt2 or llama (a decoder), got an encoder (" + dir + ")");
          } else {
            // Every end token of the config (ids checked against the vocabulary when it was read).
            opt.stop_tokens.clear();
            for (auto t : m.config().eos_token_ids) opt.stop_tokens.push_back(ef::token_id(t));
            if (prompt.size() > 2000 || ids.size() > 512) std::fprintf(stderr, "prefill of %zu tokens ...\n", ids.size());
            if (tok) std::fputs(prompt.c_str(), stdout);
            res = eg::generate(m, {ids}, opt, on_token);
          }
        },
        model);
    std::fwrite(pending.data(), 1, pending.size(), stdout);
    std::printf("\n");
    std::fflush(stdout);
    if (print_ids) {
      std::printf("ids:");
      for (auto t : ids) std::printf(" %d", t);
      for (auto t : res.tokens.front()) std::printf(" %d", t);
      std::printf("\n");
    }
    std::fprintf(stderr, "prefill: %ld tokens in %.1f ms (%.1f tokens/s); decode: %ld tokens in %.1f ms (%.1f tokens/s)\n",
                 long(res.stats.prefill_tokens), res.stats.prefill_seconds * 1e3, res.stats.prefill_tokens_per_second(),
                 long(res.stats.decode_tokens), res.stats.decode_seconds * 1e3, res.stats.decode_tokens_per_second());
  } catch (const ef::error& e) {
    std::fprintf(stderr, "eigenformer-generate: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {  // a failure the library did not type: still a message, not an abort
    std::fprintf(stderr, "eigenformer-generate: unexpected error: %s\n", e.what());
    return 1;
  }
  return 0;
}
