#pragma once
/// @file
/// The exception hierarchy. Every error eigenformer throws derives from eigenformer::error, and its
/// message has one form: `[eigenformer.<where>] <what>: expected <expected>, got <found>` followed,
/// when a file is involved, by ` (<file>)`. Example:
///
///     [eigenformer.load] tensor 'h.3.attn.c_attn.weight': expected shape [768, 2304], got [768, 768] (model.safetensors)
///
/// Errors are thrown only at boundaries (files, configs, tokenizers, model construction, public entry
/// points that take user shapes). Kernels and forward() paths after validation are noexcept.

#include <eigenformer/core/config.hpp>

#include <charconv>
#include <cstddef>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>

namespace eigenformer {

/// Base class of every exception eigenformer throws.
class error : public std::runtime_error {
 public:
  explicit error(const std::string& message) : std::runtime_error(message) {}
};

/// A file could not be opened, mapped or read.
class io_error : public error {
 public:
  using error::error;
};

/// Bytes were read but do not follow the expected format (safetensors header, vocabulary line, ...).
class format_error : public error {
 public:
  using error::error;
};

/// A tensor, matrix or argument does not have the shape an operation needs.
class shape_error : public error {
 public:
  using error::error;
};

/// A configuration value (config.json field, layer option, thread count, ...) is missing,
/// out of range or not supported.
class config_error : public error {
 public:
  using error::error;
};

/// A computation gave values that are not finite (NaN or infinity) where a decision needs finite
/// ones, such as the logits a generation step samples from.
class numeric_error : public error {
 public:
  using error::error;
};

/// The longest part (what, expected, found, file) a message echoes: a longer one, such as a tensor
/// name of a megabyte read from a malformed file, is cut here and says how long it was.
inline constexpr std::size_t max_echoed_bytes = 512;

/// @p s, or its first max_echoed_bytes bytes (not cutting a UTF-8 sequence) followed by
/// `... (N bytes in all)`.
inline std::string echo(std::string_view s) {
  if (s.size() <= max_echoed_bytes) return std::string(s);
  std::size_t n = max_echoed_bytes;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0u) == 0x80u) --n;  // not inside a sequence
  return std::string(s.substr(0, n)) + "... (" + std::to_string(s.size()) + " bytes in all)";
}

/// A number as the shortest text that reads back to the same double (`1e-300`, `0.1`,
/// `10000`), where std::to_string would print `0.000000`.
inline std::string format_number(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}
/// The same for a float (`0.8`, not the double nearest to it).
inline std::string format_number(float v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

/// Builds the canonical message `[eigenformer.<where>] <what>: expected <expected>, got <found>`,
/// with ` (<file>)` appended when @p file is not empty. Each part longer than max_echoed_bytes is
/// cut (see echo()).
inline std::string make_error_message(std::string_view where, std::string_view what,
                                      std::string_view expected, std::string_view found,
                                      std::string_view file = {}) {
  // Every part is echoed through echo(), so no input can make a message unboundedly long.
  std::string m;
  m.append("[eigenformer.").append(where).append("] ").append(echo(what));
  m.append(": expected ").append(echo(expected)).append(", got ").append(echo(found));
  if (!file.empty()) m.append(" (").append(echo(file)).append(")");
  return m;
}

/// Formats a shape as `[d0, d1, ...]`, the notation every shape message uses.
inline std::string format_shape(std::initializer_list<long long> dims) {
  std::string s = "[";
  bool first = true;
  for (long long d : dims) {
    if (!first) s += ", ";
    s += std::to_string(d);
    first = false;
  }
  s += "]";
  return s;
}

/// Throws @p Error with the canonical message. The usual way to report a failed check:
///
///     throw_error<shape_error>("ops.layer_norm", "gain", format_shape({d}), format_shape({g}));
template <class Error>
[[noreturn]] inline void throw_error(std::string_view where, std::string_view what,
                                     std::string_view expected, std::string_view found,
                                     std::string_view file = {}) {
  throw Error(make_error_message(where, what, expected, found, file));
}

}  // namespace eigenformer
