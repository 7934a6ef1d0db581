// The error contract at the file-system and format boundaries: every failure is an
// eigenformer::error naming the file (no std::filesystem_error, std::ios_base::failure or JSON
// exception escapes), readers refuse directories, devices and symlink loops before reading, a
// failed write leaves the previous output as it was, duplicate keys and bad padding are refused,
// config values are range-checked with their text as written, and echoed names are bounded.
#include <eigenformer/io/checkpoint.hpp>
#include <eigenformer/io/file.hpp>
#include <eigenformer/io/hf_config.hpp>
#include <eigenformer/io/json.hpp>
#include <eigenformer/io/parse.hpp>
#include <eigenformer/io/safetensors.hpp>

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../support/scratch_dir.hpp"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ef = eigenformer;
namespace io = eigenformer::io;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

using eftest::scratch_dir;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

std::string safetensors_bytes(const std::string& header, std::size_t data_bytes) {
  std::string b(8, '\0');
  for (int i = 0; i < 8; ++i) b[std::size_t(i)] = char((header.size() >> (8 * i)) & 0xffu);
  return b + header + std::string(data_bytes, '\0');
}

io::header parse_st(const std::string& header, std::size_t data_bytes) {
  const std::string b = safetensors_bytes(header, data_bytes);
  return io::parse_header(std::span(reinterpret_cast<const std::byte*>(b.data()), b.size()), "t.safetensors");
}

io::model_config parse_cfg(const std::string& text) { return io::parse_config(nlohmann::json::parse(text), "config.json"); }

const std::string llama_base = R"("model_type":"llama","vocab_size":10,"hidden_size":64,"intermediate_size":96,
    "num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"max_position_embeddings":32)";

}  // namespace

TEST_CASE("readers refuse directories, devices and symlink loops with io_error naming the file", "[io][errors]") {
  scratch_dir d;
  fs::create_directory(d.path / "config.json");
  CHECK_THROWS_MATCHES(io::read_config(d.path), ef::io_error,
                       Catch::Matchers::Message("[eigenformer.io.file] file: expected a regular file, got a directory (" +
                                                (d.path / "config.json").string() + ")"));
  CHECK_THROWS_WITH(io::read_file("/dev/zero"), Contains("expected a regular file, got a character device (/dev/zero)"));
  d.loop("loop.json");
  CHECK_THROWS_AS(io::read_json(d.path / "loop.json"), ef::io_error);
  CHECK_THROWS_WITH(io::exists(d.path / "loop.json"), Contains("expected a path that can be examined") && Contains("loop.json"));
  CHECK_FALSE(io::exists(d.path / "absent"));
  CHECK_FALSE(io::exists(d.path / "absent" / "below"));
  // A model folder whose config.json or weight index is a symlink loop, or whose index is a folder.
  scratch_dir m;
  m.loop("config.json");
  CHECK_THROWS_AS(io::read_config(m.path), ef::io_error);
  m.loop("model.safetensors.index.json");
  CHECK_THROWS_WITH(io::checkpoint(m.path), Contains("model.safetensors.index.json"));
  scratch_dir m2;
  fs::create_directory(m2.path / "model.safetensors.index.json");
  CHECK_THROWS_WITH(io::checkpoint(m2.path), Contains("got a directory"));
  fs::create_directory(m2.path / "model.safetensors");
  fs::remove(m2.path / "model.safetensors.index.json");
  CHECK_THROWS_WITH(io::checkpoint(m2.path), Contains("expected a regular file, got a directory"));
  // Larger than the bound: refused before reading.
  d.write("big.txt", std::string(100, 'x'));
  CHECK_THROWS_WITH(io::read_file(d.path / "big.txt", 10), Contains("file size: expected at most 10 bytes, got 100 bytes"));
  CHECK(io::read_file(d.path / "big.txt").size() == 100);
}

TEST_CASE("JSON files: a key twice in an object, or text that is not JSON, is a format_error naming the file", "[io][errors]") {
  CHECK_THROWS_WITH(io::parse_json(R"({"a":1,"b":{"x":1,"x":2}})", "f.json"),
                    "[eigenformer.io.json] object key 'x': expected each key once in an object, got twice (f.json)");
  CHECK_NOTHROW(io::parse_json(R"({"a":{"x":1},"b":{"x":2},"c":[{"x":1},{"x":1}]})", "f.json"));
  CHECK_THROWS_WITH(io::parse_json("{\"a\":\"\xff\"}", "f.json"), Contains("expected valid JSON (UTF-8)") && Contains("(f.json)"));
}

TEST_CASE("safetensors header: duplicate tensor names and padding other than spaces are refused", "[io][errors]") {
  CHECK_THROWS_WITH(parse_st(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
                    Contains("header key 'w': expected each tensor and field once, got twice (t.safetensors)"));
  const std::string ok = R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  CHECK_NOTHROW(parse_st(ok + "   ", 4));
  CHECK_THROWS_WITH(parse_st(ok + "  \n", 4), Contains("header padding: expected spaces (0x20) after the JSON, got byte 0x0a"));
  CHECK_THROWS_AS(parse_st(ok + std::string(3, '\0'), 4), ef::format_error);
  // A megabyte tensor name is echoed cut, with its length.
  const std::string name(1 << 20, 'n');
  try {
    parse_st("{\"" + name + R"(":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", 4);
    FAIL("no error");
  } catch (const ef::format_error& e) {
    const std::string m = e.what();
    CHECK(m.size() < 2 * ef::max_echoed_bytes + 200);
    CHECK_THAT(m, Contains("(1048591 bytes in all)") && Contains("\"F33\" (unknown dtype)"));
  }
}

TEST_CASE("write_safetensors replaces the output only once all of it is written", "[io][errors]") {
  scratch_dir d;
  const auto out = d.path / "out.safetensors";
  const std::vector<float> small(4, 1.0f), big(1 << 16, 2.0f);
  io::write_safetensors(out, {{"x", {4}, small.data()}});
  const std::string before = slurp(out);
  // A file-size limit below the new file's size: the write fails with io_error (EFBIG), in a child
  // process so that the limit does not outlive the check.
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit lim{8192, 8192};
    ::setrlimit(RLIMIT_FSIZE, &lim);
    int code = 3;
    try {
      io::write_safetensors(out, {{"x", {std::int64_t(big.size())}, big.data()}});
      code = 2;
    } catch (const ef::io_error& e) {
      code = std::string(e.what()).find(out.string()) != std::string::npos ? 0 : 4;
    } catch (...) {
    }
    ::_exit(code);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(slurp(out) == before);  // the previous output, whole
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(d.path)) ++files;
  CHECK(files == 1);  // no temporary file left behind
  // Names that cannot be written, and a folder that does not exist.
  CHECK_THROWS_WITH(io::write_safetensors(out, {{"x", {4}, small.data()}, {"x", {4}, small.data()}}),
                    Contains("tensor 'x': expected a name used once"));
  CHECK_THROWS_WITH(io::write_safetensors(out, {{"x", {4}, small.data()}}, {{"model", "m\xff"}}),
                    Contains("metadata value of 'model': expected valid UTF-8 text, got invalid UTF-8"));
  CHECK_THROWS_AS(io::write_safetensors(d.path / "no" / "such" / "f.safetensors", {{"x", {4}, small.data()}}), ef::io_error);
  CHECK(slurp(out) == before);
}

TEST_CASE("config.json values: range-checked, reported as written, with the file", "[io][errors]") {
  CHECK_THROWS_WITH(parse_cfg(R"({"model_type":"llama","vocab_size":18446744073709551615,"hidden_size":64})"),
                    Contains("field 'vocab_size'") && Contains("got 18446744073709551615 (config.json)"));
  CHECK_THROWS_WITH(parse_cfg(R"({"model_type":"llama","vocab_size":4611686018427387904,"hidden_size":64})"),
                    Contains("expected an integer in [1, 2147483647], got 4611686018427387904"));
  CHECK_THROWS_WITH(parse_cfg("{" + llama_base + R"(,"rope_theta":1e-300})"),
                    Contains("field 'rope_theta'") && Contains("got 1e-300 (config.json)"));
  CHECK_THROWS_WITH(parse_cfg("{" + llama_base + R"(,"rms_norm_eps":1e-300})"), Contains("got 1e-300 (config.json)"));
  CHECK_THROWS_WITH(parse_cfg("{" + llama_base + R"(,"max_position_embeddings":1099511627776})"),
                    Contains("field 'max_position_embeddings'"));
}

TEST_CASE("config.json: rope_parameters (current transformers) read or refused by name", "[io][errors]") {
  auto llama = [](const std::string& extra) { return std::get<io::llama_config>(parse_cfg("{" + llama_base + extra + "}")); };
  CHECK(llama(R"(,"rope_parameters":{"rope_type":"default","rope_theta":1000000.0})").rope_theta == 1e6);
  CHECK(llama(R"(,"rope_theta":1000000.0,"rope_parameters":{"rope_type":"default","rope_theta":1000000.0})").rope_theta == 1e6);
  CHECK(llama(R"(,"rope_scaling":{"rope_type":"default"},"rope_theta":20000)").rope_theta == 20000.0);
  CHECK_THROWS_WITH(llama(R"(,"rope_parameters":{"rope_type":"yarn","rope_theta":1000000.0,"factor":4.0})"),
                    Contains("field 'rope_parameters.rope_type'") && Contains("\"yarn\" (not supported)"));
  CHECK_THROWS_WITH(llama(R"(,"rope_parameters":{"rope_type":"default","rope_theta":1000000.0,"factor":4.0})"),
                    Contains("field 'rope_parameters.factor'"));
  CHECK_THROWS_WITH(llama(R"(,"rope_theta":10000.0,"rope_parameters":{"rope_type":"default","rope_theta":1000000.0})"),
                    Contains("two different values"));
  CHECK_THROWS_WITH(llama(R"(,"rope_scaling":{"rope_type":"llama3","factor":8.0})"), Contains("field 'rope_scaling.rope_type'"));
  // head_dim: equal to hidden_size / heads is the default; another size is kept; an unusable one is refused.
  CHECK(llama(R"(,"head_dim":16)").head_dim == 0);
  CHECK(llama(R"(,"head_dim":32)").head_size() == 32);
  CHECK_THROWS_WITH(llama(R"(,"head_dim":12)"), Contains("field 'head_dim'") && Contains("got 12"));
  // eos_token_id: one id or a list, each an id of the vocabulary.
  CHECK(llama(R"(,"eos_token_id":[2,7])").eos_token_ids == std::vector<std::int64_t>{2, 7});
  CHECK(llama(R"(,"eos_token_id":[2,7])").eos_token_id == 2);
  CHECK_THROWS_WITH(llama(R"(,"eos_token_id":4294967298)"), Contains("field 'eos_token_id'") && Contains("got 4294967298"));
  CHECK_THROWS_WITH(llama(R"(,"eos_token_id":[2,"x"])"), Contains("field 'eos_token_id'"));
  CHECK_THROWS_WITH(llama(R"(,"eos_token_id":10)"), Contains("a token id in [0, 10)"));
}

TEST_CASE("numbers from text: range-checked, never wrapped", "[io][errors]") {
  std::int32_t id = 7;
  CHECK(io::parse_integer<std::int32_t>("4294967296", 0, 2147483647, id).value() ==
        "expected an integer >= 0, got 4294967296 (out of range)");
  CHECK(id == 7);
  CHECK(io::parse_integer<std::int32_t>("-1", 0, 100, id).has_value());
  CHECK(io::parse_integer<std::int32_t>("12x", 0, 100, id).has_value());
  CHECK(io::parse_integer<std::int32_t>("", 0, 100, id).has_value());
  CHECK(io::parse_integer<std::int32_t>(" 1", 0, 100, id).has_value());
  CHECK_FALSE(io::parse_integer<std::int32_t>("42", 0, 100, id).has_value());
  CHECK(id == 42);
  std::vector<std::int32_t> ids;
  CHECK_FALSE(io::parse_integer_list<std::int32_t>("5,17,42", 0, 100, ids).has_value());
  CHECK(ids == std::vector<std::int32_t>{5, 17, 42});
  CHECK(io::parse_integer_list<std::int32_t>("5,,42", 0, 100, ids).has_value());
  CHECK(io::parse_integer_list<std::int32_t>("5,4294967296", 0, 2147483647, ids).has_value());
  float f = 0.0f;
  CHECK(io::parse_float("1e-300", f).has_value());
  CHECK(io::parse_float("1e300", f).has_value());
  CHECK(io::parse_float("nan", f).has_value());
  CHECK_FALSE(io::parse_float("0.25", f).has_value());
  CHECK(f == 0.25f);
}

TEST_CASE("error messages cut long parts in one place, and print numbers as written", "[core][errors]") {
  const std::string m = ef::make_error_message("w", std::string(1 << 20, 'a'), "x", "y");
  CHECK(m.size() < ef::max_echoed_bytes + 100);
  CHECK_THAT(m, Contains("... (1048576 bytes in all): expected x, got y"));
  // A cut never splits a UTF-8 sequence.
  const std::string e = ef::echo(std::string(ef::max_echoed_bytes - 1, 'a') + "\xc3\xa9" + std::string(600, 'b'));
  CHECK(e.rfind(std::string(ef::max_echoed_bytes - 1, 'a') + "... (", 0) == 0);
  CHECK(ef::format_number(1e-300) == "1e-300");
  CHECK(ef::format_number(10000.0) == "10000");
}
