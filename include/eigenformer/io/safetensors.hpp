#pragma once
/// @file
/// safetensors (https://github.com/huggingface/safetensors): an 8-byte little-endian header
/// length N, N bytes of JSON `{"name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]},
/// "__metadata__": {..}}`, then the tensor bytes, offsets relative to the end of the header.
///
///  - `parse_header(bytes, file)`: validates everything about a buffer without touching tensor
///    data (the fuzz target): sizes, JSON, dtypes, shapes (overflow-checked), offsets in bounds,
///    sized to the shape, not overlapping.
///  - `safetensors_file`: a file mapped read-only (mmap), its header parsed; tensors are spans
///    of the mapping, read only when a weight is bound.
///  - `write_safetensors`: writes F32 tensors (the forward tool's output, test fixtures).
///
/// Every failure throws io_error (cannot open / map) or format_error (bad content), naming the
/// file, the tensor and what was expected.

#include <eigenformer/core/error.hpp>
#include <eigenformer/io/file.hpp>
#include <eigenformer/io/json.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace eigenformer::io {

/// Element types of the format. Weights can be bound from F32, F16 and BF16; the others are
/// recognised (and rejected by name when a weight is read from them).
enum class dtype : std::uint8_t { f32, f16, bf16, f64, i64, i32, i16, i8, u8, u16, u32, u64, boolean, f8_e4m3, f8_e5m2 };

inline const char* dtype_name(dtype t) noexcept {
  constexpr const char* names[] = {"F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8",
                                   "U8",  "U16", "U32",  "U64", "BOOL", "F8_E4M3", "F8_E5M2"};
  return names[static_cast<std::size_t>(t)];
}
inline std::size_t dtype_size(dtype t) noexcept {
  constexpr std::size_t sizes[] = {4, 2, 2, 8, 8, 4, 2, 1, 1, 2, 4, 8, 1, 1, 1};
  return sizes[static_cast<std::size_t>(t)];
}
/// The dtype named @p s, or false.
inline bool parse_dtype(std::string_view s, dtype& out) noexcept {
  for (std::uint8_t i = 0; i <= static_cast<std::uint8_t>(dtype::f8_e5m2); ++i) {
    if (s == dtype_name(static_cast<dtype>(i))) {
      out = static_cast<dtype>(i);
      return true;
    }
  }
  return false;
}

/// One tensor of a header: its data is bytes [begin, end) of the data section.
struct tensor_info {
  std::string name;
  io::dtype type = dtype::f32;
  std::vector<std::int64_t> shape;
  std::size_t begin = 0, end = 0;
  std::size_t numel() const noexcept {
    std::size_t n = 1;
    for (auto d : shape) n *= std::size_t(d);
    return n;
  }
};

struct header {
  std::vector<tensor_info> tensors;             ///< sorted by name
  std::map<std::string, std::string> metadata;  ///< "__metadata__"
  std::size_t data_start = 0;                   ///< byte offset of the data section in the file
  std::size_t data_size = 0;

  const tensor_info* find(std::string_view name) const noexcept {
    auto it = std::lower_bound(tensors.begin(), tensors.end(), name,
                               [](const tensor_info& t, std::string_view n) { return t.name < n; });
    return it != tensors.end() && it->name == name ? &*it : nullptr;
  }
};

/// Largest header accepted (the reference implementation's limit): 100 MB.
inline constexpr std::uint64_t max_header_bytes = 100'000'000;

inline std::string shape_string(const std::vector<std::int64_t>& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

/// Validates the header of a whole safetensors file held in @p bytes. Throws format_error.
inline header parse_header(std::span<const std::byte> bytes, const std::string& file) {
  const char* where = "io.safetensors";
  if (bytes.size() < 8)
    throw_error<format_error>(where, "file size", "at least 8 bytes (the header length)",
                              std::to_string(bytes.size()) + " bytes", file);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | std::to_integer<std::uint64_t>(bytes[std::size_t(i)]);
  if (n > bytes.size() - 8)
    throw_error<format_error>(where, "header length", "at most " + std::to_string(bytes.size() - 8) +
                                                          " (the bytes after the length field)",
                              std::to_string(n), file);
  if (n > max_header_bytes)
    throw_error<format_error>(where, "header length", "at most 100000000", std::to_string(n), file);
  const std::string_view text(reinterpret_cast<const char*>(bytes.data() + 8), std::size_t(n));
  std::string duplicate;
  nlohmann::json j = detail::parse_json_strict(text, duplicate);
  if (j.is_discarded()) throw_error<format_error>(where, "header", "a JSON object", "text that is not JSON", file);
  if (!j.is_object()) throw_error<format_error>(where, "header", "a JSON object", std::string(j.type_name()), file);
  if (!duplicate.empty())
    throw_error<format_error>(where, "header key '" + duplicate + "'", "each tensor and field once", "twice", file);
  // The format allows padding with spaces (0x20) after the JSON, nothing else.
  const std::size_t end = text.find_last_not_of(' ');
  if (end != std::string_view::npos && text[end] != '}') {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", unsigned(static_cast<unsigned char>(text[end])));
    throw_error<format_error>(where, "header padding", "spaces (0x20) after the JSON",
                              std::string("byte ") + hex + " at header offset " + std::to_string(end), file);
  }

  header h;
  h.data_start = std::size_t(8 + n);
  h.data_size = bytes.size() - h.data_start;
  for (auto& [key, value] : j.items()) {
    if (key == "__metadata__") {
      if (!value.is_object())
        throw_error<format_error>(where, "__metadata__", "an object of strings", std::string(value.type_name()), file);
      for (auto& [mk, mv] : value.items()) {
        if (!mv.is_string())
          throw_error<format_error>(where, "__metadata__ entry '" + mk + "'", "a string", std::string(mv.type_name()), file);
        h.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    const std::string what = "tensor '" + key + "'";
    if (!value.is_object())
      throw_error<format_error>(where, what, "an object with dtype, shape and data_offsets", std::string(value.type_name()),
                                file);
    tensor_info t;
    t.name = key;
    const auto dt = value.find("dtype");
    if (dt == value.end() || !dt->is_string())
      throw_error<format_error>(where, what + " dtype", "a string such as \"F32\"", dt == value.end() ? "nothing" : dt->dump(),
                                file);
    if (!parse_dtype(dt->get_ref<const std::string&>(), t.type))
      throw_error<format_error>(where, what + " dtype", "one of F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL, ...",
                                "\"" + dt->get<std::string>() + "\" (unknown dtype)", file);
    const auto sh = value.find("shape");
    if (sh == value.end() || !sh->is_array())
      throw_error<format_error>(where, what + " shape", "an array of sizes", sh == value.end() ? "nothing" : sh->dump(), file);
    std::uint64_t numel = 1;
    for (const auto& d : *sh) {
      if (!d.is_number_unsigned())
        throw_error<format_error>(where, what + " shape", "non-negative integers", sh->dump(), file);
      const std::uint64_t v = d.get<std::uint64_t>();
      if (v > std::uint64_t(std::numeric_limits<std::int64_t>::max()) ||
          (v != 0 && numel > std::numeric_limits<std::uint64_t>::max() / 8 / v))
        throw_error<format_error>(where, what + " shape", "a size that fits in memory", sh->dump(), file);
      numel *= v;
      t.shape.push_back(std::int64_t(v));
    }
    const auto off = value.find("data_offsets");
    if (off == value.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned())
      throw_error<format_error>(where, what + " data_offsets", "[begin, end] (two non-negative integers)",
                                off == value.end() ? "nothing" : off->dump(), file);
    const std::uint64_t b = (*off)[0].get<std::uint64_t>(), e = (*off)[1].get<std::uint64_t>();
    if (b > e || e > h.data_size)
      throw_error<format_error>(where, what + " data_offsets",
                                "0 <= begin <= end <= " + std::to_string(h.data_size) + " (the data section)",
                                off->dump(), file);
    if (e - b != numel * dtype_size(t.type))
      throw_error<format_error>(where, what + " byte size",
                                std::to_string(numel * dtype_size(t.type)) + " (" + shape_string(t.shape) + " x " +
                                    std::to_string(dtype_size(t.type)) + " bytes of " + dtype_name(t.type) + ")",
                                std::to_string(e - b), file);
    t.begin = std::size_t(b);
    t.end = std::size_t(e);
    h.tensors.push_back(std::move(t));
  }
  // No two tensors may share bytes.
  std::vector<const tensor_info*> by_offset;
  for (const auto& t : h.tensors)
    if (t.end > t.begin) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  for (std::size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->begin < by_offset[i - 1]->end)
      throw_error<format_error>(where, "tensor '" + by_offset[i]->name + "' data_offsets",
                                "bytes not used by another tensor",
                                "an overlap with tensor '" + by_offset[i - 1]->name + "'", file);
  std::sort(h.tensors.begin(), h.tensors.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return h;
}

/// A file mapped read-only. Move-only.
class mapped_file {
 public:
  mapped_file() = default;
  explicit mapped_file(const std::filesystem::path& path) : path_(path.string()) {
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_error<io_error>("io.file", "file", "a readable file", std::strerror(errno), path_);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      const char* kind = S_ISREG(st.st_mode) ? std::strerror(errno) : detail::file_kind(st.st_mode);
      ::close(fd);
      throw_error<io_error>("io.file", "file", "a regular file", kind, path_);
    }
    size_ = std::size_t(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        ::close(fd);
        throw_error<io_error>("io.file", "mmap", "a mapping of " + std::to_string(size_) + " bytes", std::strerror(errno),
                              path_);
      }
      data_ = static_cast<const std::byte*>(p);
    }
    ::close(fd);
  }
  mapped_file(mapped_file&& o) noexcept { swap(o); }
  mapped_file& operator=(mapped_file&& o) noexcept {
    mapped_file tmp(std::move(o));
    swap(tmp);
    return *this;
  }
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;
  ~mapped_file() {
    if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
  }
  std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  const std::string& path() const noexcept { return path_; }

 private:
  void swap(mapped_file& o) noexcept {
    std::swap(path_, o.path_);
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
  }
  std::string path_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

/// IEEE half → float (subnormals, infinities and NaN included).
inline float half_to_float(std::uint16_t h) noexcept {
  const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      bits = sign | (std::uint32_t(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}
inline float bf16_to_float(std::uint16_t h) noexcept { return std::bit_cast<float>(std::uint32_t(h) << 16); }

/// Converts @p n elements of an F32, F16 or BF16 tensor's bytes (any alignment, little-endian)
/// to float.
inline void to_float(dtype t, const std::byte* src, std::size_t n, float* out) noexcept {
  if (t == dtype::f32) {
    if (n) std::memcpy(out, src, n * sizeof(float));
    return;
  }
  for (std::size_t i = 0; i < n; ++i) {
    std::uint16_t v;
    std::memcpy(&v, src + 2 * i, 2);
    out[i] = t == dtype::f16 ? half_to_float(v) : bf16_to_float(v);
  }
}

/// A mapped safetensors file with its validated header.
class safetensors_file {
 public:
  explicit safetensors_file(const std::filesystem::path& path)
      : file_(path), header_(parse_header(file_.bytes(), file_.path())) {}
  const header& info() const noexcept { return header_; }
  const std::string& path() const noexcept { return file_.path(); }
  const tensor_info* find(std::string_view name) const noexcept { return header_.find(name); }
  /// The bytes of tensor @p t (from this file's header).
  const std::byte* data(const tensor_info& t) const noexcept {
    return file_.bytes().data() + header_.data_start + t.begin;
  }
  /// Tells the kernel this process is done with tensor @p t's pages (they stay in the page
  /// cache; touching them again faults them back in). Keeps the resident set of a load close to
  /// the weights it has converted rather than weights plus the whole mapping.
  void release(const tensor_info& t) const noexcept {
    const auto page = std::uintptr_t(::sysconf(_SC_PAGESIZE));
    const auto lo = (reinterpret_cast<std::uintptr_t>(data(t)) + page - 1) / page * page;
    const auto hi = (reinterpret_cast<std::uintptr_t>(data(t)) + (t.end - t.begin)) / page * page;
    if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
  }

 private:
  mapped_file file_;
  header header_;
};

/// A tensor to write: F32 data, row-major.
struct tensor_to_write {
  std::string name;
  std::vector<std::int64_t> shape;
  const float* data = nullptr;
};

/// Throws format_error unless @p metadata can be written in a header: keys and values valid
/// UTF-8. Callers can check before the work whose result they will write.
inline void check_metadata(const std::map<std::string, std::string>& metadata, const std::string& file) {
  for (const auto& [k, v] : metadata) {
    check_utf8(k, "metadata key", file);
    check_utf8(v, "metadata value of '" + k + "'", file);
  }
}

/// Writes F32 tensors as a safetensors file (header padded with spaces to 8 bytes, as the
/// reference writer does), through a temporary file in the same folder renamed over @p path
/// (io::atomic_writer): a failed write leaves the previous file as it was. Throws format_error
/// for names that cannot be written (a duplicate, invalid UTF-8, "__metadata__") and io_error
/// when the file cannot be written.
inline void write_safetensors(const std::filesystem::path& path, const std::vector<tensor_to_write>& tensors,
                              const std::map<std::string, std::string>& metadata = {}) {
  const std::string file = path.string();
  check_metadata(metadata, file);
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (!metadata.empty()) j["__metadata__"] = metadata;
  std::set<std::string_view> names;
  std::size_t offset = 0;
  for (const auto& t : tensors) {
    check_utf8(t.name, "tensor name", file);
    if (t.name == "__metadata__" || !names.insert(t.name).second)
      throw_error<format_error>("io.safetensors", "tensor '" + t.name + "'", "a name used once (not __metadata__)",
                                "a duplicate", file);
    std::size_t n = 1;
    for (auto d : t.shape) {
      if (d < 0) throw_error<shape_error>("io.safetensors", "tensor '" + t.name + "' shape", "non-negative sizes", shape_string(t.shape), file);
      n *= std::size_t(d);
    }
    if (n && !t.data) throw_error<shape_error>("io.safetensors", "tensor '" + t.name + "' data", "a pointer to its values", "null", file);
    j[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + n * 4}}};
    offset += n * 4;
  }
  std::string text = j.dump();
  while ((text.size() + 8) % 8 != 0) text.push_back(' ');
  atomic_writer out(path);
  std::uint64_t len = text.size();
  char lenbytes[8];
  for (int i = 0; i < 8; ++i) lenbytes[i] = char((len >> (8 * i)) & 0xffu);
  out.write(lenbytes, 8);
  out.write(text);
  for (const auto& t : tensors) {
    std::size_t n = 1;
    for (auto d : t.shape) n *= std::size_t(d);
    if (n) out.write(t.data, n * 4);
  }
  out.commit();
}

}  // namespace eigenformer::io
