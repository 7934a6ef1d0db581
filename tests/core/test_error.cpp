#include <eigenformer/core/error.hpp>

#include <catch2/catch.hpp>

namespace ef = eigenformer;

TEST_CASE("error messages name the place, the thing, what was expected and what was found", "[core][error]") {
  CHECK(ef::make_error_message("load", "tensor 'h.3.attn.c_attn.weight'", "shape [768, 2304]",
                               "[768, 768]", "model.safetensors") ==
        "[eigenformer.load] tensor 'h.3.attn.c_attn.weight': expected shape [768, 2304], got "
        "[768, 768] (model.safetensors)");
  CHECK(ef::make_error_message("ops.linear", "input", "[*, 768]", "[4, 512]") ==
        "[eigenformer.ops.linear] input: expected [*, 768], got [4, 512]");
  CHECK(ef::format_shape({}) == "[]");
  CHECK(ef::format_shape({7}) == "[7]");
  CHECK(ef::format_shape({2, 3, 4}) == "[2, 3, 4]");
}

TEST_CASE("each error kind is an eigenformer::error and a std::runtime_error", "[core][error]") {
  CHECK_THROWS_AS(ef::throw_error<ef::io_error>("io", "file", "readable", "ENOENT"), ef::io_error);
  CHECK_THROWS_AS(ef::throw_error<ef::format_error>("io", "header", "JSON", "garbage"), ef::error);
  CHECK_THROWS_AS(ef::throw_error<ef::shape_error>("ops", "x", "[2]", "[3]"), std::runtime_error);
  CHECK_THROWS_WITH(ef::throw_error<ef::config_error>("config", "field 'n_head'", "an integer > 0", "-1", "config.json"),
                    "[eigenformer.config] field 'n_head': expected an integer > 0, got -1 (config.json)");
  // The kinds are distinct: a shape error is not caught as a config error.
  bool caught_as_config = false;
  try {
    try {
      ef::throw_error<ef::shape_error>("ops", "x", "[2]", "[3]");
    } catch (const ef::config_error&) {
      caught_as_config = true;
    }
  } catch (const ef::shape_error&) {
  }
  CHECK_FALSE(caught_as_config);
}
