#pragma once
// A fresh folder under the system's temporary directory, removed with everything in it when the
// object goes: for tests that write files, directories and symlink loops to read back.
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace eftest {

struct scratch_dir {
  std::filesystem::path path;
  scratch_dir() {
    static int n = 0;
    path = std::filesystem::temp_directory_path() /
           ("eigenformer_scratch_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    std::filesystem::create_directories(path);
  }
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name, std::ios::binary) << text;
  }
  /// name -> name.other -> name: a symlink loop.
  void loop(const std::string& name) const {
    std::filesystem::create_symlink(path / (name + ".other"), path / name);
    std::filesystem::create_symlink(path / name, path / (name + ".other"));
  }
};

}  // namespace eftest
