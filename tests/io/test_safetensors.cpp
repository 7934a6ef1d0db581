// safetensors parsing and writing, F16/BF16 conversion, checkpoint folders, weight binding and
// config.json: every malformed input gets a typed error that names the file, the tensor or
// field, what was expected and what was found.
#include <eigenformer/io/checkpoint.hpp>
#include <eigenformer/io/hf_config.hpp>
#include <eigenformer/io/safetensors.hpp>

#include "../support/check.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>

namespace ef = eigenformer;
namespace io = eigenformer::io;
using Catch::Matchers::Contains;

namespace {

std::vector<std::byte> file_bytes(const std::string& header, std::size_t data_bytes, std::uint64_t declared = 0) {
  const std::uint64_t n = declared ? declared : header.size();
  std::vector<std::byte> b(8 + header.size() + data_bytes, std::byte{0});
  for (int i = 0; i < 8; ++i) b[std::size_t(i)] = std::byte((n >> (8 * i)) & 0xffu);
  std::memcpy(b.data() + 8, header.data(), header.size());
  return b;
}

io::header parse(const std::string& header, std::size_t data_bytes, std::uint64_t declared = 0) {
  const auto b = file_bytes(header, data_bytes, declared);
  return io::parse_header(b, "test.safetensors");
}

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    path = std::filesystem::temp_directory_path() / ("eigenformer_io_" + std::to_string(::getpid()) + "_" +
                                                     std::to_string(counter()++));
    std::filesystem::create_directories(path);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  static int& counter() {
    static int c = 0;
    return c;
  }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name, std::ios::binary) << text;
  }
};

}  // namespace

TEST_CASE("safetensors header: a valid file parses, with metadata and sorted tensors", "[io]") {
  const auto h = parse(R"({"b":{"dtype":"F16","shape":[2,3],"data_offsets":[16,28]},)"
                       R"("a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"__metadata__":{"format":"pt"}})",
                       28);
  REQUIRE(h.tensors.size() == 2);
  CHECK(h.tensors[0].name == "a");
  CHECK(h.find("b")->type == io::dtype::f16);
  CHECK(h.find("b")->shape == std::vector<std::int64_t>{2, 3});
  CHECK(h.find("c") == nullptr);
  CHECK(h.metadata.at("format") == "pt");
  // A scalar (shape []) has one element; an empty tensor has none.
  CHECK_NOTHROW(parse(R"({"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"e":{"dtype":"F32","shape":[0,5],"data_offsets":[4,4]}})", 4));
}

TEST_CASE("safetensors header: malformed files are rejected with format_error", "[io][errors]") {
  const auto tiny = std::vector<std::byte>(5);
  CHECK_THROWS_WITH(io::parse_header(tiny, "t.safetensors"),
                    "[eigenformer.io.safetensors] file size: expected at least 8 bytes (the header length), got 5 bytes "
                    "(t.safetensors)");
  CHECK_THROWS_WITH(parse("{}", 0, 1000), Contains("header length: expected at most 2") && Contains("got 1000"));
  CHECK_THROWS_WITH(parse("{not json", 0), Contains("header: expected a JSON object, got text that is not JSON"));
  CHECK_THROWS_WITH(parse("[1,2]", 0), Contains("expected a JSON object, got array"));
  CHECK_THROWS_WITH(parse(R"({"w":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", 4),
                    Contains("tensor 'w' dtype") && Contains("\"F33\" (unknown dtype)"));
  CHECK_THROWS_WITH(parse(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4),
                    Contains("tensor 'w' data_offsets: expected 0 <= begin <= end <= 4 (the data section), got [0,8]"));
  CHECK_THROWS_WITH(parse(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[4,0]}})", 8), Contains("data_offsets"));
  CHECK_THROWS_WITH(parse(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
                    Contains("tensor 'w' byte size: expected 12 ([3] x 4 bytes of F32), got 8"));
  CHECK_THROWS_WITH(parse(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
                    Contains("tensor 'b' data_offsets: expected bytes not used by another tensor, got an overlap with tensor 'a'"));
  CHECK_THROWS_WITH(parse(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4),
                    Contains("shape: expected non-negative integers"));
  CHECK_THROWS_WITH(parse(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4),
                    Contains("a size that fits in memory"));
  CHECK_THROWS_WITH(parse(R"({"w":{"dtype":"F32","shape":[1]}})", 4), Contains("data_offsets: expected [begin, end]"));
  CHECK_THROWS_WITH(parse(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", 4), Contains("dtype: expected a string"));
  CHECK_THROWS_WITH(parse(R"({"w":5})", 4), Contains("tensor 'w': expected an object"));
  CHECK_THROWS_WITH(parse(R"({"__metadata__":{"k":1}})", 0), Contains("__metadata__ entry 'k'"));
  CHECK_THROWS_AS(parse(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4, 9), ef::format_error);
}

TEST_CASE("F16 and BF16 convert exactly, every bit pattern", "[io]") {
  for (std::uint32_t bits = 0; bits < 65536; ++bits) {
    const auto h = std::uint16_t(bits);
    // IEEE half by its definition, in double.
    const int sign = (h >> 15) ? -1 : 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    double want;
    if (exp == 0) want = sign * std::ldexp(mant, -24);
    else if (exp == 31) want = mant ? std::nan("") : sign * std::numeric_limits<double>::infinity();
    else want = sign * std::ldexp(1024 + mant, exp - 25);
    const float got = io::half_to_float(h);
    if (std::isnan(want)) {
      REQUIRE(std::isnan(got));
    } else {
      INFO("half bits " << bits);
      REQUIRE(double(got) == want);
      REQUIRE(std::signbit(got) == bool(h >> 15));
    }
    const float b = io::bf16_to_float(h);
    std::uint32_t fb;
    std::memcpy(&fb, &b, 4);
    REQUIRE(fb == bits << 16);
  }
}

TEST_CASE("write_safetensors round-trips through the mapped reader", "[io]") {
  temp_dir dir;
  const std::vector<float> a = {1.5f, -2.0f, 3.25f, 0.0f, -0.0f, 7.0f}, b = {42.0f};
  io::write_safetensors(dir.path / "out.safetensors", {{"x.weight", {2, 3}, a.data()}, {"lengths", {1}, b.data()}},
                        {{"producer", "test"}});
  io::safetensors_file f(dir.path / "out.safetensors");
  const auto* t = f.find("x.weight");
  REQUIRE(t != nullptr);
  CHECK(t->shape == std::vector<std::int64_t>{2, 3});
  std::vector<float> back(6);
  io::to_float(t->type, f.data(*t), 6, back.data());
  CHECK(back == a);
  CHECK(std::signbit(back[4]));
  CHECK(f.info().metadata.at("producer") == "test");
  CHECK(f.info().data_start % 8 == 0);
}

TEST_CASE("checkpoint folders and the weight binder: missing, unexpected, wrong shape or dtype", "[io][errors]") {
  temp_dir dir;
  const std::vector<float> w(6, 1.0f), v(3, 2.0f);
  io::write_safetensors(dir.path / "model.safetensors",
                        {{"m.w", {2, 3}, w.data()}, {"m.b", {3}, v.data()}, {"m.extra", {3}, v.data()}});
  io::checkpoint ck(dir.path);
  CHECK(ck.names() == std::vector<std::string>{"m.b", "m.extra", "m.w"});
  {
    io::weight_binder bind(ck, "m.");
    CHECK(bind.get_matrix("w", 2, 3)(1, 2) == 1.0f);
    CHECK_THROWS_WITH(bind.get_vector("b", 4), "[eigenformer.io.load] tensor 'm.b': expected shape [4], got [3] (" +
                                                   (dir.path / "model.safetensors").string() + ")");
    CHECK(bind.get_vector("missing", 2).isZero());
    CHECK_THROWS_WITH(bind.finish(), Contains("missing: m.missing [2]") && Contains("unexpected: m.extra"));
    bind.ignore("extra");
    CHECK_THROWS_WITH(bind.finish(), Contains("missing: m.missing [2]") && Contains("unexpected: none"));
  }
  // A truncated file: the header promises more bytes than there are.
  {
    std::ifstream in(dir.path / "model.safetensors", std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), {});
    temp_dir cut;
    cut.write("model.safetensors", all.substr(0, all.size() - 5));
    CHECK_THROWS_WITH(io::checkpoint(cut.path), Contains("data_offsets") && Contains("model.safetensors"));
    cut.write("model.safetensors", all.substr(0, 20));
    CHECK_THROWS_WITH(io::checkpoint(cut.path), Contains("header length"));
  }
  // Weights of an unsupported dtype are refused when bound.
  {
    temp_dir ints;
    std::string header = R"({"i":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})";
    while ((header.size() + 8) % 8) header += ' ';
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[std::size_t(i)] = char((header.size() >> (8 * i)) & 0xff);
    ints.write("model.safetensors", bytes + header + std::string(8, '\1'));
    io::checkpoint c2(ints.path);
    io::weight_binder b2(c2);
    CHECK_THROWS_WITH(b2.get_vector("i", 2), Contains("tensor 'i' dtype: expected F32, F16 or BF16, got I32"));
  }
  temp_dir empty;
  CHECK_THROWS_AS(io::checkpoint(empty.path), ef::io_error);
  // Sharded: an index naming a shard that does not exist, or a tensor its shard lacks.
  temp_dir sharded;
  io::write_safetensors(sharded.path / "a.safetensors", {{"x", {3}, v.data()}});
  sharded.write("model.safetensors.index.json", R"({"weight_map":{"x":"a.safetensors","y":"a.safetensors"}})");
  CHECK_THROWS_WITH(io::checkpoint(sharded.path), Contains("tensor 'y': expected present in its shard a.safetensors"));
  sharded.write("model.safetensors.index.json", R"({"weight_map":{"x":"../a.safetensors"}})");
  CHECK_THROWS_AS(io::checkpoint(sharded.path), ef::format_error);
  sharded.write("model.safetensors.index.json", R"({"weight_map":{"x":"b.safetensors"}})");
  CHECK_THROWS_AS(io::checkpoint(sharded.path), ef::io_error);
}

TEST_CASE("weight binder scopes: sub() nests prefixes, optional tensors, full names in reports", "[io][errors]") {
  temp_dir dir;
  const std::vector<float> w(6, 1.0f), v(3, 2.0f);
  io::write_safetensors(dir.path / "model.safetensors", {{"m.h.3.attn.w", {2, 3}, w.data()},
                                                         {"m.h.3.attn.b", {3}, v.data()},
                                                         {"m.h.3.ln.g", {3}, v.data()},
                                                         {"m.h.3.extra", {3}, v.data()},
                                                         {"head.w", {3}, v.data()}});
  io::checkpoint ck(dir.path);
  io::weight_binder root(ck, "m.");
  io::weight_binder layer = root.sub("h").sub(3);
  CHECK(layer.prefix() == "m.h.3.");
  CHECK(layer.scope_name() == "m.h.3");
  io::weight_binder attn = layer.sub("attn");
  CHECK(attn.prefix() == "m.h.3.attn.");
  CHECK(attn.has("w"));
  CHECK(!root.has("w"));
  CHECK(attn.get_matrix("w", 2, 3)(1, 2) == 1.0f);
  // Optional tensors: present ones are shape-checked and used, absent ones are not missing.
  const auto b = attn.get_optional_vector("b", 3);
  REQUIRE(b.has_value());
  CHECK((*b)(0) == 2.0f);
  CHECK(!attn.get_optional_vector("absent", 3).has_value());
  CHECK(!attn.get_optional_matrix("absent", 2, 2).has_value());
  io::weight_binder ln = layer.sub("ln");
  CHECK_THROWS_WITH(ln.get_optional_matrix("g", 3, 1), Contains("tensor 'm.h.3.ln.g': expected shape [3, 1], got [3]"));
  CHECK_THROWS_WITH(ln.get_optional_vector("g", 4), Contains("tensor 'm.h.3.ln.g': expected shape [4], got [3]"));
  // A binder outside the prefix (scoped) shares the record too.
  io::weight_binder head = root.scoped("").sub("head");
  CHECK(head.prefix() == "head.");
  CHECK(head.get_vector("w", 3)(2) == 2.0f);
  // Missing and unexpected tensors are reported by their full names, whichever scope asked.
  CHECK(layer.sub("mlp").sub("up").get_vector("bias", 2).isZero());
  // (m.h.3.ln.g was found, so it counts as used although its shape was refused.)
  CHECK_THROWS_WITH(root.finish(), Contains("missing: m.h.3.mlp.up.bias [2], got unexpected: m.h.3.extra ("));
  layer.sub("absent").ignore_optional("x");
  layer.ignore_optional("extra");
  CHECK_THROWS_WITH(attn.finish(), Contains("missing: m.h.3.mlp.up.bias [2], got unexpected: none"));
  // require() with scoped entries: names resolve through the scopes and are reported in full.
  CHECK(layer.sub("attn").expect("w", {2, 3}).name == "m.h.3.attn.w");
  const auto listed = [&](auto&& add) {
    add(layer.sub("attn").expect("w", {2, 3}));
    add(layer.sub("attn").expect("b", {3}));
    add(layer.sub("attn").expect("q", {3}));
    add(layer.sub("attn").expect("maybe", {3}, true));
  };
  CHECK_THROWS_WITH(root.require(listed), Contains("missing: m.h.3.attn.q [3], got unexpected: head.w, m.h.3.extra, "
                                                   "m.h.3.ln.g (") &&
                                              !Contains("maybe"));
  const auto wrong_shape = [&](auto&& add) { add(layer.sub("attn").expect("w", {3, 2})); };
  CHECK_THROWS_WITH(root.require(wrong_shape), Contains("tensor 'm.h.3.attn.w': expected shape [3, 2], got [2, 3]"));
}

TEST_CASE("config.json: required fields, types, ranges and unsupported options are named", "[io][errors]") {
  const std::string f = "config.json";
  auto parse_cfg = [&](const std::string& text) { return io::parse_config(nlohmann::json::parse(text), f); };
  const auto c = parse_cfg(R"({"model_type":"llama","vocab_size":10,"hidden_size":64,"intermediate_size":96,
      "num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"max_position_embeddings":32,
      "rope_theta":500000.0,"tie_word_embeddings":true})");
  const auto& l = std::get<io::llama_config>(c);
  CHECK(l.num_key_value_heads == 2);
  CHECK(l.rope_theta == 500000.0);
  CHECK(l.tie_word_embeddings);
  CHECK_THROWS_WITH(parse_cfg(R"({"model_type":"bert","vocab_size":10,"hidden_size":32,"num_attention_heads":4,
      "intermediate_size":64,"max_position_embeddings":16})"),
                    "[eigenformer.io.config] field 'num_hidden_layers': expected an integer >= 1, got nothing (missing "
                    "field) (config.json)");
  CHECK_THROWS_WITH(parse_cfg(R"({"model_type":"bert","vocab_size":10,"hidden_size":32,"num_hidden_layers":1,
      "num_attention_heads":4,"intermediate_size":64,"max_position_embeddings":16,"hidden_act":"swish"})"),
                    Contains("field 'hidden_act'") && Contains("\"swish\" (not supported)"));
  CHECK_THROWS_WITH(parse_cfg(R"({"model_type":"gpt2","vocab_size":10,"n_positions":8,"n_embd":"32","n_layer":1,"n_head":4})"),
                    Contains("field 'n_embd': expected an integer >= 1, got \"32\""));
  CHECK_THROWS_WITH(parse_cfg(R"({"model_type":"gpt2","vocab_size":10,"n_positions":8,"n_embd":30,"n_layer":1,"n_head":4})"),
                    Contains("field 'n_head': expected a divisor of n_embd 30"));
  CHECK_THROWS_WITH(parse_cfg(R"({"model_type":"llama","vocab_size":10,"hidden_size":64,"intermediate_size":96,
      "num_hidden_layers":2,"num_attention_heads":4,"max_position_embeddings":32,"rope_scaling":{"type":"linear","factor":2}})"),
                    Contains("field 'rope_scaling") && Contains("not supported"));
  CHECK_THROWS_WITH(parse_cfg(R"({"model_type":"t5"})"), Contains("field 'model_type'") && Contains("\"t5\" (not supported)"));
  CHECK_THROWS_WITH(parse_cfg(R"({"vocab_size":3})"), Contains("field 'model_type': expected a string, got nothing"));
  CHECK_THROWS_AS(parse_cfg("[]"), ef::config_error);
  temp_dir dir;
  dir.write("config.json", "{ not json");
  CHECK_THROWS_WITH(io::read_config(dir.path), Contains("[eigenformer.io.json] content: expected valid JSON"));
  CHECK_THROWS_AS(io::read_config(dir.path / "nowhere"), ef::io_error);
}
