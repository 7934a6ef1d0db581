// libFuzzer target: the safetensors header parser on arbitrary bytes. Every input either parses
// (and then every tensor's bytes lie inside the buffer and convert) or throws a typed
// eigenformer::error; nothing else is acceptable (crash, sanitizer report, other exception).
#include <eigenformer/io/safetensors.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  try {
    const auto h = eigenformer::io::parse_header(bytes, "fuzz.safetensors");
    std::vector<float> out;
    for (const auto& t : h.tensors) {
      if (h.data_start + t.end > size) __builtin_trap();
      if (t.type == eigenformer::io::dtype::f32 || t.type == eigenformer::io::dtype::f16 ||
          t.type == eigenformer::io::dtype::bf16) {
        const std::size_t n = t.numel();
        if (n > (1u << 20)) continue;
        out.resize(n);
        eigenformer::io::to_float(t.type, bytes.data() + h.data_start + t.begin, n, out.data());
      }
    }
  } catch (const eigenformer::error&) {
  }
  return 0;
}
