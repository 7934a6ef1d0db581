// Tokenizer files at the boundary: a vocabulary or merges file that is a directory, a device
// (/dev/zero) or a symlink loop is an io_error naming it (not "[UNK] missing", an endless read
// or an uncaught exception); ids are bounded by the vocabulary's size; every merge must join
// symbols of the vocabulary; invalid UTF-8 names the line and the file.
#include <eigenformer/tokenizers/auto.hpp>
#include <eigenformer/tokenizers/bpe.hpp>
#include <eigenformer/tokenizers/wordpiece.hpp>

#include <catch2/catch.hpp>

#include "../support/scratch_dir.hpp"

#include <filesystem>
#include <fstream>
#include <string>

namespace ef = eigenformer;
namespace tk = eigenformer::tokenizers;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

using folder = eftest::scratch_dir;

// vocab.json with every byte symbol (ids 0..255) plus @p extra tokens.
std::string byte_vocab(const std::vector<std::string>& extra = {}) {
  const auto b2u = tk::bytes_to_unicode();
  nlohmann::json j = nlohmann::json::object();
  int id = 0;
  for (int b = 0; b < 256; ++b) {
    std::string s;
    tk::append_utf8(s, b2u[std::size_t(b)]);
    j[s] = id++;
  }
  for (const auto& e : extra) j[e] = id++;
  return j.dump();
}

}  // namespace

TEST_CASE("vocabulary files that are directories, devices or symlink loops are io_errors naming them", "[tokenizers][errors]") {
  folder d;
  fs::create_directory(d.path / "vocab.txt");
  CHECK_THROWS_AS(tk::any_tokenizer::from_folder(d.path), ef::io_error);
  CHECK_THROWS_WITH(tk::any_tokenizer::from_folder(d.path), Contains("expected a regular file, got a directory") && Contains("vocab.txt"));
  folder loop;
  fs::create_symlink(loop.path / "b", loop.path / "vocab.txt");
  fs::create_symlink(loop.path / "vocab.txt", loop.path / "b");
  CHECK_THROWS_AS(tk::any_tokenizer::from_folder(loop.path), ef::io_error);
  folder z;
  z.write("vocab.json", byte_vocab());
  fs::create_symlink("/dev/zero", z.path / "merges.txt");
  CHECK_THROWS_WITH(tk::bpe_tokenizer::from_folder(z.path), Contains("got a character device") && Contains("merges.txt"));
  folder z2;
  fs::create_symlink("/dev/zero", z2.path / "vocab.txt");
  CHECK_THROWS_WITH(tk::wordpiece_tokenizer::from_folder(z2.path), Contains("got a character device"));
  folder md;
  md.write("vocab.json", byte_vocab());
  fs::create_directory(md.path / "merges.txt");
  CHECK_THROWS_AS(tk::bpe_tokenizer::from_folder(md.path), ef::io_error);
}

TEST_CASE("BPE files: ids bounded by the vocabulary, merges of known symbols only", "[tokenizers][errors]") {
  folder d;
  d.write("merges.txt", "#version: 0.2\n");
  d.write("vocab.json", R"({"a":100000000})");
  CHECK_THROWS_WITH(tk::bpe_tokenizer::from_folder(d.path),
                    Contains("id of token 'a': expected an integer in [0, 1)") && Contains("got 100000000"));
  d.write("vocab.json", byte_vocab({"th"}));
  d.write("merges.txt", "#version: 0.2\nt h\nhe r\n");  // "he" is no token of the vocabulary
  CHECK_THROWS_WITH(tk::bpe_tokenizer::from_folder(d.path),
                    Contains("merges line 3: expected two symbols of the vocabulary, got 'he', which is not in") &&
                        Contains("vocab.json (") && Contains("merges.txt)"));
  d.write("merges.txt", "#version: 0.2\nt h\nth e\n");
  d.write("vocab.json", byte_vocab({"th", "the"}));
  CHECK_NOTHROW(tk::bpe_tokenizer::from_folder(d.path));
  d.write("merges.txt", "#version: 0.2\nt h\nx\xff y\n");
  CHECK_THROWS_WITH(tk::bpe_tokenizer::from_folder(d.path),
                    Contains("merges line 3: expected valid UTF-8") && Contains("merges.txt"));
}

TEST_CASE("WordPiece vocabulary: invalid UTF-8 names the line and the file", "[tokenizers][errors]") {
  folder d;
  d.write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nab\xff\n");
  CHECK_THROWS_WITH(tk::wordpiece_tokenizer::from_folder(d.path),
                    Contains("vocabulary line 5: expected valid UTF-8") && Contains("vocab.txt)"));
  d.write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nab\n");
  const auto t = tk::wordpiece_tokenizer::from_folder(d.path);
  CHECK_THROWS_WITH(t.encode("x\xff"), Contains("input text: expected valid UTF-8"));
}
