#pragma once
// Whole-file writes that never leave a half-written file under the final name, and the
// clean-up of the temporaries they use (`<file>.tmp.<pid>`): at a signal (the registry of
// live temporaries, async-signal-safe) and after a process that was killed outright.
#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace swinscope {

// Writes the pieces, back to back, to `path` via `path.tmp.<pid>` + fsync + rename, then
// fsyncs the folder. On failure the temporary is removed, the previous file (if any) is
// unchanged, and swinscope::Error (kind Runtime) names the file, the temporary and errno's
// reason ("No space left on device"). While it is written the temporary is in the registry
// that remove_live_temporaries() clears.
void write_file_atomically(const std::filesystem::path& path, std::span<const std::span<const std::byte>> pieces);
void write_file_atomically(const std::filesystem::path& path, std::string_view contents);

// Unlinks every temporary this process is writing through write_file_atomically. Only
// async-signal-safe calls: for SIGINT / SIGTERM handlers.
void remove_live_temporaries() noexcept;

struct StaleTemporary {
  std::filesystem::path path;
  long pid = 0;  // the process that was writing it, now gone
};
// Removes `<name>.tmp.<pid>` files in `dir` whose process no longer exists (kill(pid, 0)
// fails with ESRCH): what a kill -9 or a crash during a write leaves. With `only_name`
// non-empty, only the temporaries of that file name. Returns what it removed; files it
// cannot remove are left alone.
std::vector<StaleTemporary> remove_stale_temporaries(const std::filesystem::path& dir, const std::string& only_name = {});

}  // namespace swinscope
