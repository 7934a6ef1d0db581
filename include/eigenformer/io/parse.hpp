#pragma once
/// @file
/// Numbers written as text (command-line values, comma-separated id lists), parsed with their
/// range checked rather than cast: "4294967296" as a token id is an error, not id 0. Each
/// function returns nothing on success and the reason otherwise (`expected an integer in [1, 256],
/// got '20000'`), so that a tool can report it as a usage error.

#include <eigenformer/core/error.hpp>

#include <charconv>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace eigenformer::io {

namespace detail {
template <std::integral T>
std::string integer_range(T min, T max) {
  if (max == std::numeric_limits<T>::max()) return "an integer >= " + std::to_string(min);
  return "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
}
}  // namespace detail

/// Parses @p text, a decimal integer (an optional '-', digits, nothing else), into @p out when it
/// lies in [@p min, @p max]; returns the reason when it does not (out is then unchanged).
template <std::integral T>
std::optional<std::string> parse_integer(std::string_view text, T min, T max, T& out) {
  T v{};
  const char* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec == std::errc::invalid_argument || p != end || (ec != std::errc() && ec != std::errc::result_out_of_range))
    return "expected " + detail::integer_range(min, max) + ", got '" + echo(text) + "'";
  if (ec == std::errc::result_out_of_range || v < min || v > max)
    return "expected " + detail::integer_range(min, max) + ", got " + echo(text) + " (out of range)";
  out = v;
  return std::nullopt;
}

/// Parses comma-separated integers ("5,17,42"), each in [@p min, @p max], into @p out.
template <std::integral T>
std::optional<std::string> parse_integer_list(std::string_view text, T min, T max, std::vector<T>& out) {
  std::vector<T> v;
  std::size_t i = 0;
  while (true) {
    const std::size_t j = text.find(',', i);
    const std::string_view part = text.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i);
    T x{};
    if (auto e = parse_integer(part, min, max, x))
      return "expected comma-separated integers in [" + std::to_string(min) + ", " + std::to_string(max) + "], got '" +
             echo(text) + "' (item " + std::to_string(v.size()) + ": " + *e + ")";
    v.push_back(x);
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  out = std::move(v);
  return std::nullopt;
}

/// Parses @p text, a finite decimal number, into @p out as a float; a value that float cannot
/// hold (1e300, or 1e-300, which would read as 0) is refused rather than rounded to inf or 0.
inline std::optional<std::string> parse_float(std::string_view text, float& out) {
  double v = 0.0;
  const char* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || p != end || !std::isfinite(v))
    return "expected a finite number, got '" + echo(text) + "'";
  const float f = static_cast<float>(v);
  if (!std::isfinite(f) || (v != 0.0 && f == 0.0f))
    return "expected a number a float can hold (magnitude in [1e-45, 3.4e38] or 0), got " + echo(text);
  out = f;
  return std::nullopt;
}

}  // namespace eigenformer::io
