#pragma once
/// @file
/// The file-system boundary every reader and writer of eigenformer goes through, so that no
/// std::filesystem_error or std::ios_base::failure escapes and every failure is an io_error
/// naming the file:
///  - `exists(path)`: false only when the path is absent; a path that cannot be examined (a
///    symlink loop, no permission) is an io_error, not "absent".
///  - `read_file(path, max_bytes)`: the bytes of a regular file of at most @p max_bytes; a
///    directory, a device (/dev/zero), a FIFO or a larger file is refused before reading.
///  - `atomic_writer`: writes to a temporary file in the destination's folder and renames it over
///    the destination on commit(), so that a failed write (disk full, file-size limit) leaves the
///    previous file as it was and no truncated one.

#include <eigenformer/core/error.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <algorithm>
#include <vector>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace eigenformer::io {

/// Largest text file (config, vocabulary, merges, index) the readers accept: 1 GiB.
inline constexpr std::uint64_t max_text_file_bytes = std::uint64_t(1) << 30;

namespace detail {
inline const char* file_kind(mode_t m) noexcept {
  if (S_ISREG(m)) return "a regular file";
  if (S_ISDIR(m)) return "a directory";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}
}  // namespace detail

/// True when @p path exists (following symlinks). False when it, or a folder on its way, is
/// absent. Throws io_error when it cannot be examined (a symlink loop, a folder without
/// permission, a name too long).
inline bool exists(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT || errno == ENOTDIR) return false;
  throw_error<io_error>("io.file", "path", "a path that can be examined", std::strerror(errno), path.string());
}

/// True when @p path is a regular file (following symlinks); false when absent; io_error as for
/// exists(), and for a path that exists but is not a regular file (a directory named vocab.txt).
inline bool regular_file_exists(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return false;
    throw_error<io_error>("io.file", "path", "a path that can be examined", std::strerror(errno), path.string());
  }
  if (!S_ISREG(st.st_mode)) throw_error<io_error>("io.file", "file", "a regular file", detail::file_kind(st.st_mode), path.string());
  return true;
}

/// The whole content of the regular file @p path. Throws io_error when it cannot be opened or
/// read, is not a regular file, or is larger than @p max_bytes (checked before reading).
inline std::string read_file(const std::filesystem::path& path, std::uint64_t max_bytes = max_text_file_bytes) {
  const std::string name = path.string();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // O_NONBLOCK: a FIFO must not hang the open
  if (fd < 0) throw_error<io_error>("io.file", "file", "a readable file", std::strerror(errno), name);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    throw_error<io_error>("io.file", "file", "a file whose size can be read", std::strerror(e), name);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw_error<io_error>("io.file", "file", "a regular file", detail::file_kind(st.st_mode), name);
  }
  if (std::uint64_t(st.st_size) > max_bytes) {
    ::close(fd);
    throw_error<io_error>("io.file", "file size", "at most " + std::to_string(max_bytes) + " bytes",
                          std::to_string(st.st_size) + " bytes", name);
  }
  std::string out(std::size_t(st.st_size), '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t r = ::read(fd, out.data() + got, out.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      const int e = errno;
      ::close(fd);
      throw_error<io_error>("io.file", "read", std::to_string(out.size()) + " bytes", std::strerror(e), name);
    }
    if (r == 0) break;  // the file shrank while being read: keep what is there
    got += std::size_t(r);
  }
  out.resize(got);
  ::close(fd);
  return out;
}

/// All of standard input (at most @p max_bytes; more is an io_error naming "standard input").
inline std::string read_stdin(std::uint64_t max_bytes = max_text_file_bytes) {
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const std::size_t n = std::fread(buf, 1, sizeof buf, stdin);
    out.append(buf, n);
    if (out.size() > max_bytes)
      throw_error<io_error>("io.read", "standard input", "at most " + std::to_string(max_bytes) + " bytes", "more",
                            "standard input");
    if (n < sizeof buf) {
      if (std::ferror(stdin)) throw_error<io_error>("io.read", "standard input", "readable", std::strerror(errno), "standard input");
      return out;
    }
  }
}

/// The lines of @p text that hold more than blanks, each without its '\n' and a trailing '\r'
/// (one input a line: the texts of eigenformer-embed, -rerank and -classify).
inline std::vector<std::string> nonblank_lines(std::string_view text) {
  std::vector<std::string> out;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t eol = std::min(text.find('\n', pos), text.size());
    std::string_view line = text.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") != std::string_view::npos) out.emplace_back(line);
    pos = eol + 1;
  }
  return out;
}

/// Writes a file through a temporary file in the same folder, renamed over @p path by commit().
/// Until then (and when commit() fails, or the writer is destroyed without it) @p path is left
/// as it was and the temporary file is removed. Every failure is an io_error naming @p path.
///
///     io::atomic_writer out(path);
///     out.write(bytes, n);   // any number of times
///     out.commit();
class atomic_writer {
 public:
  explicit atomic_writer(const std::filesystem::path& path) : path_(path) {
    const auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
    const std::string base = "." + path.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-";
    for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
      tmp_ = dir / (base + std::to_string(counter()++));
      fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd_ < 0 && errno != EEXIST) {
        tmp_.clear();  // not created: nothing to remove
        fail("a temporary file in the output's folder");
      }
    }
    if (fd_ < 0) {
      tmp_.clear();
      fail("a temporary file in the output's folder");
    }
  }
  atomic_writer(const atomic_writer&) = delete;
  atomic_writer& operator=(const atomic_writer&) = delete;
  ~atomic_writer() { abandon(); }

  void write(const void* data, std::size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      const ssize_t r = ::write(fd_, p, n);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) fail("all bytes written");
      p += r;
      n -= std::size_t(r);
    }
  }
  void write(std::string_view s) { write(s.data(), s.size()); }

  /// Flushes the temporary file to disk and renames it over the destination.
  void commit() {
    if (::fsync(fd_) != 0 && errno != EINVAL && errno != EROFS) fail("all bytes flushed to disk");
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("all bytes written");
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) fail("the temporary file renamed over the output");
    tmp_.clear();
  }

 private:
  static int& counter() {
    static int c = 0;
    return c;
  }
  void abandon() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!tmp_.empty()) ::unlink(tmp_.c_str());
    tmp_.clear();
  }
  [[noreturn]] void fail(const char* expected) {
    const int e = errno;
    abandon();
    throw_error<io_error>("io.write", "output file", expected, std::strerror(e), path_.string());
  }

  std::filesystem::path path_, tmp_;
  int fd_ = -1;
};

}  // namespace eigenformer::io
