#include "engine/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "engine/error.h"

namespace swinscope {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

// The temporaries being written, for remove_live_temporaries() in a signal handler: fixed
// storage and lock-free atomics, because a handler may not allocate or lock. A slot is
// free (0), being filled (1) or holds a live path (2).
constexpr std::size_t kSlots = 16;
constexpr std::size_t kMaxPath = 4096;
struct Slot {
  std::atomic<int> state{0};
  char path[kMaxPath];
};
std::array<Slot, kSlots> g_live;
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler reads the registry");

// Registered before the file is created, so no instant exists where it is on disk but unknown
// to the handler. Beyond kSlots concurrent writes the extra ones are simply not registered.
class TempFile {
 public:
  explicit TempFile(std::string path) : m_path(std::move(path)) {
    if (m_path.size() >= kMaxPath) return;
    for (std::size_t i = 0; i < kSlots; ++i) {
      int expected = 0;
      if (g_live[i].state.compare_exchange_strong(expected, 1, std::memory_order_acquire)) {
        std::memcpy(g_live[i].path, m_path.c_str(), m_path.size() + 1);
        g_live[i].state.store(2, std::memory_order_release);
        m_slot = static_cast<int>(i);
        return;
      }
    }
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  // Removes the temporary file unless the write got as far as renaming it into place.
  ~TempFile() {
    if (!m_committed) ::unlink(m_path.c_str());
    if (m_slot >= 0) g_live[static_cast<std::size_t>(m_slot)].state.store(0, std::memory_order_release);
  }
  const std::string& path() const { return m_path; }
  void commit() { m_committed = true; }

 private:
  std::string m_path;
  int m_slot = -1;
  bool m_committed = false;
};

class WriteFd {
 public:
  explicit WriteFd(int fd) : m_fd(fd) {}
  WriteFd(const WriteFd&) = delete;
  WriteFd& operator=(const WriteFd&) = delete;
  ~WriteFd() {
    if (m_fd >= 0) ::close(m_fd);
  }
  int get() const { return m_fd; }
  // close() reports deferred write errors (NFS, quota), so the writer checks it.
  int close() {
    const int rc = ::close(m_fd);
    m_fd = -1;
    return rc;
  }

 private:
  int m_fd = -1;
};

const char* const kUnchanged = " (the previous file, if any, is unchanged)";

void write_all(int fd, const std::byte* p, std::size_t n, const std::string& label, const std::string& tmp) {
  while (n > 0) {
    // Linux writes at most 0x7ffff000 bytes per call; larger tensors go in pieces.
    const std::size_t chunk = std::min<std::size_t>(n, std::size_t{1} << 30);
    const ssize_t w = ::write(fd, p, chunk);
    if (w < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      throw Error(label + ": cannot write " + tmp + ": " + errno_text(err) + kUnchanged, Error::Kind::Runtime);
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

}  // namespace

void write_file_atomically(const std::filesystem::path& path, std::span<const std::span<const std::byte>> pieces) {
  const std::string label = path.string();
  TempFile tmp(label + ".tmp." + std::to_string(::getpid()));
  auto io_fail = [&](const std::string& what) {
    const int err = errno;
    throw Error(label + ": " + what + " " + tmp.path() + ": " + errno_text(err) + kUnchanged, Error::Kind::Runtime);
  };
  WriteFd fd(::open(tmp.path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) io_fail("cannot create temporary file");
  for (const auto& piece : pieces) write_all(fd.get(), piece.data(), piece.size(), label, tmp.path());
  // Data must be on disk before the rename makes it visible under the final name, or a
  // crash could leave a complete-looking file with missing contents.
  if (::fsync(fd.get()) != 0) io_fail("cannot fsync");
  if (fd.close() != 0) io_fail("cannot close");
  if (::rename(tmp.path().c_str(), label.c_str()) != 0) {
    const int err = errno;
    throw Error(label + ": cannot rename " + tmp.path() + " into place: " + errno_text(err) + kUnchanged, Error::Kind::Runtime);
  }
  tmp.commit();

  // Persist the directory entry too. The file is already complete under its final
  // name, so a failure here is not worth failing the write for.
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  WriteFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() >= 0) (void)::fsync(dfd.get());
}

void write_file_atomically(const std::filesystem::path& path, std::string_view contents) {
  const std::span<const std::byte> piece(reinterpret_cast<const std::byte*>(contents.data()), contents.size());
  write_file_atomically(path, std::span<const std::span<const std::byte>>(&piece, 1));
}

void remove_live_temporaries() noexcept {
  for (auto& slot : g_live)
    if (slot.state.load(std::memory_order_acquire) == 2) ::unlink(slot.path);
}

std::vector<StaleTemporary> remove_stale_temporaries(const std::filesystem::path& dir, const std::string& only_name) {
  namespace fs = std::filesystem;
  std::vector<StaleTemporary> removed;
  std::error_code ec;
  fs::directory_iterator it(dir.empty() ? fs::path(".") : dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const auto at = name.rfind(".tmp.");
    if (at == std::string::npos || at == 0) continue;
    if (!only_name.empty() && name.compare(0, at, only_name) != 0) continue;
    if (!only_name.empty() && at != only_name.size()) continue;
    const char* first = name.data() + at + 5;
    const char* last = name.data() + name.size();
    long pid = 0;
    const auto [end_ptr, err] = std::from_chars(first, last, pid);
    if (err != std::errc() || end_ptr != last || first == last || pid <= 0 || pid != static_cast<pid_t>(pid)) continue;
    if (pid == ::getpid()) continue;
    // EPERM means the process exists (another user's): only ESRCH says it is gone.
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    std::error_code st_ec;
    if (!fs::is_regular_file(fs::symlink_status(it->path(), st_ec))) continue;
    if (::unlink(it->path().c_str()) == 0) removed.push_back({it->path(), pid});
  }
  return removed;
}

}  // namespace swinscope
