// libFuzzer target: config.json reading on arbitrary bytes (io::parse_json, then
// io::parse_config). Every input either gives a config whose sizes are in range, or throws a
// typed eigenformer::error; nothing else is acceptable (crash, sanitizer report, a JSON or other
// exception, which libFuzzer reports as a crash).
#include <eigenformer/io/hf_config.hpp>
#include <eigenformer/io/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

namespace io = eigenformer::io;

namespace {
bool size_ok(std::int64_t v) { return v >= 1 && v <= io::max_config_integer; }
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto cfg = io::parse_config(io::parse_json(text, "config.json"), "config.json");
    if (const auto* l = std::get_if<io::llama_config>(&cfg)) {
      if (!size_ok(l->vocab_size) || !size_ok(l->hidden_size) || !size_ok(l->num_hidden_layers)) __builtin_trap();
      if (l->head_size() < 8 || l->head_size() > 256 || l->num_attention_heads % l->num_key_value_heads != 0) __builtin_trap();
      if (!(l->rope_theta > 1.0)) __builtin_trap();
      for (auto e : l->eos_token_ids)
        if (e < 0 || e >= l->vocab_size) __builtin_trap();
    } else if (const auto* g = std::get_if<io::gpt2_config>(&cfg)) {
      if (!size_ok(g->vocab_size) || !size_ok(g->n_embd) || g->n_embd % g->n_head != 0) __builtin_trap();
      for (auto e : g->eos_token_ids)
        if (e < 0 || e >= g->vocab_size) __builtin_trap();
    } else if (const auto* b = std::get_if<io::bert_config>(&cfg)) {
      if (!size_ok(b->vocab_size) || !size_ok(b->hidden_size) || b->hidden_size % b->num_attention_heads != 0) __builtin_trap();
    }
  } catch (const eigenformer::error&) {
    // a typed error naming the field: the only acceptable failure
  }
  return 0;
}
