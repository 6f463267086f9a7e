#include "engine/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>
#include <utility>

#include "engine/atomic_file.h"
#include "engine/error.h"

namespace swinscope {

// Tensor bytes are handed out exactly as stored; on a big-endian host every consumer
// would have to swap, so refuse to build there rather than return wrong numbers.
static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

namespace {

using nlohmann::json;

// A valid header nests three levels (root → tensor → shape); the cap only stops a
// hostile "[[[[…" header from building millions of nested values before we refuse it.
constexpr int kMaxJsonDepth = 32;

constexpr std::uint64_t kInt64Max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

[[noreturn]] void fail(const std::string& label, const std::string& what) { throw Error(label + ": " + what); }

// Length of the well-formed UTF-8 sequence starting at s[i] (Unicode table 3-7), or 0.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

// Names and parser messages from an untrusted header end up in error text, which
// callers may show in a GUI or serialize as JSON: keep them short, free of control
// characters and valid UTF-8 (bad bytes are written as \xNN).
std::string printable(std::string_view s, std::size_t max = 120) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size() && i < max) {
    const std::size_t n = utf8_sequence_length(s, i);
    const auto c = static_cast<unsigned char>(s[i]);
    if (n == 0 || c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  if (i < s.size()) out += "...";
  return out;
}

template <typename Int>
std::string shape_string(const std::vector<Int>& shape) {
  constexpr std::size_t kShown = 16;
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size() && i < kShown; ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  if (shape.size() > kShown) out += ", ... (" + std::to_string(shape.size()) + " dims)";
  return out + "]";
}

std::string offsets_string(std::uint64_t begin, std::uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

std::string known_dtypes() {
  std::string out;
  for (DType t : {DType::F64, DType::F32, DType::F16, DType::BF16, DType::I64, DType::I32, DType::I16, DType::I8,
                  DType::U8, DType::BOOL}) {
    if (!out.empty()) out += ", ";
    out += dtype_name(t);
  }
  return out;
}

struct Entry {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

struct Parsed {
  std::map<std::string, std::string> metadata;
  std::vector<TensorView> tensors;
  std::map<std::string, std::size_t, std::less<>> index;
};

struct TooDeep {};

std::uint64_t read_u64_le(const std::byte* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(std::to_integer<unsigned>(p[i])) << (8 * i);
  return v;
}

void check_size(std::uint64_t size, const std::string& label) {
  if (size == 0) fail(label, "file is empty (0 bytes); a safetensors file starts with an 8-byte header length");
  if (size < 8) {
    fail(label, "file is " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
  }
}

json parse_header(const char* begin, std::uint64_t n, const std::string& label) {
  // nlohmann's lexer takes a NUL byte for the end of input and would ignore whatever
  // follows it; a header must be JSON throughout.
  if (const void* nul = std::memchr(begin, 0, n)) {
    fail(label, "header is not valid JSON (NUL byte at header offset " +
                    std::to_string(static_cast<const char*>(nul) - begin) + ")");
  }
  std::set<std::string, std::less<>> seen;
  std::optional<std::string> duplicate;
  // nlohmann keeps the last of duplicate keys silently; a file naming a tensor twice is
  // ambiguous, so the top-level keys are recorded while parsing.
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        depth >= kMaxJsonDepth) {
      throw TooDeep{};
    }
    if (event == json::parse_event_t::key && depth == 1 && !duplicate) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!seen.insert(key).second) duplicate = key;
    }
    return true;
  };
  json header;
  try {
    header = json::parse(begin, begin + n, callback);
  } catch (const json::exception& e) {
    fail(label, "header is not valid JSON (" + printable(e.what(), 240) + ")");
  } catch (const TooDeep&) {
    fail(label, "header is not a safetensors header: JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                    " levels");
  }
  if (!header.is_object()) {
    fail(label, std::string("header is a JSON ") + header.type_name() + ", expected an object");
  }
  if (duplicate) fail(label, "entry '" + printable(*duplicate) + "' appears more than once in the header");
  return header;
}

std::map<std::string, std::string> parse_metadata(const json& value, const std::string& label) {
  if (!value.is_object()) {
    fail(label, std::string("__metadata__ is a JSON ") + value.type_name() + ", expected an object of strings");
  }
  std::map<std::string, std::string> out;
  for (const auto& [key, v] : value.get_ref<const json::object_t&>()) {
    if (!v.is_string()) {
      fail(label, "__metadata__ entry '" + printable(key) + "' is a JSON " + v.type_name() + ", expected a string");
    }
    out.emplace(key, v.get_ref<const std::string&>());
  }
  return out;
}

// Binds the file label and tensor name so each check below states only what is wrong.
class TensorFail {
 public:
  TensorFail(const std::string& label, const std::string& name) : m_prefix(label + ": tensor '" + printable(name) + "': ") {}
  [[noreturn]] void operator()(const std::string& what) const { throw Error(m_prefix + what); }

 private:
  std::string m_prefix;
};

Entry parse_entry(const std::string& name, const json& value, std::uint64_t data_size, const std::string& label) {
  const TensorFail bad(label, name);
  if (!value.is_object()) {
    bad(std::string("entry is a JSON ") + value.type_name() + ", expected an object with dtype, shape and data_offsets");
  }
  auto field = [&](const char* key) -> const json& {
    const auto it = value.find(key);
    if (it == value.end()) bad(std::string("missing \"") + key + "\"");
    return *it;
  };

  Entry e;
  e.name = name;

  const json& dtype = field("dtype");
  if (!dtype.is_string()) bad(std::string("dtype is a JSON ") + dtype.type_name() + ", expected a string");
  const auto& dtype_text = dtype.get_ref<const std::string&>();
  const std::optional<DType> dt = dtype_from_name(dtype_text);
  if (!dt) bad("unknown dtype '" + printable(dtype_text) + "' (known: " + known_dtypes() + ")");
  e.dtype = *dt;

  const json& shape = field("shape");
  if (!shape.is_array()) bad(std::string("shape is a JSON ") + shape.type_name() + ", expected an array of integers");
  std::uint64_t numel = 1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const json& d = shape[i];
    if (d.is_number_unsigned()) {
      const auto v = d.get<std::uint64_t>();
      std::uint64_t product = 0;
      if (v > kInt64Max || __builtin_mul_overflow(numel, v, &product) || product > kInt64Max) {
        bad("shape dimension " + std::to_string(i) + " (" + std::to_string(v) +
            ") makes the element count overflow a signed 64-bit integer");
      }
      numel = product;
      e.shape.push_back(static_cast<std::int64_t>(v));
    } else if (d.is_number_integer()) {
      bad("shape dimension " + std::to_string(i) + " is negative (" + std::to_string(d.get<std::int64_t>()) + ")");
    } else {
      bad("shape dimension " + std::to_string(i) + " is a JSON " + (d.is_number() ? "fraction" : d.type_name()) +
          ", expected a non-negative integer");
    }
  }
  std::uint64_t nbytes = 0;
  if (__builtin_mul_overflow(numel, static_cast<std::uint64_t>(dtype_size(e.dtype)), &nbytes)) {
    bad("shape " + shape_string(e.shape) + " × " + std::string(dtype_name(e.dtype)) +
        " needs more bytes than fit in 64 bits");
  }

  const json& offsets = field("data_offsets");
  const std::string expect = "data_offsets must be [begin, end] with two non-negative integers";
  if (!offsets.is_array()) bad(expect + ", found a JSON " + offsets.type_name());
  if (offsets.size() != 2) bad(expect + ", found " + std::to_string(offsets.size()) + " elements");
  for (const json& o : offsets) {
    if (!o.is_number_unsigned()) {
      bad(expect + ", found " + (o.is_number_integer() ? std::string("a negative number") : "a JSON " + std::string(o.type_name())));
    }
  }
  e.begin = offsets[0].get<std::uint64_t>();
  e.end = offsets[1].get<std::uint64_t>();
  const std::string offs = "data_offsets " + offsets_string(e.begin, e.end);
  if (e.begin > e.end) bad(offs + " have begin after end");
  if (e.end > data_size) {
    bad(offs + " reach past the end of the " + std::to_string(data_size) + "-byte data area (file truncated?)");
  }
  if (e.end - e.begin != nbytes) {
    bad(offs + " hold " + std::to_string(e.end - e.begin) + " bytes but shape " + shape_string(e.shape) + " × " +
        std::string(dtype_name(e.dtype)) + " needs " + std::to_string(nbytes));
  }
  return e;
}

// Validates the whole buffer before anything points into it.
Parsed parse(const std::byte* base, std::uint64_t size, const std::string& label) {
  check_size(size, label);
  const std::uint64_t n = read_u64_le(base);
  if (n > SafetensorsFile::kMaxHeaderBytes) {
    fail(label, "header length " + std::to_string(n) + " exceeds the limit of " +
                    std::to_string(SafetensorsFile::kMaxHeaderBytes) + " bytes");
  }
  if (n > size - 8) {
    fail(label, "header length " + std::to_string(n) + " exceeds the " + std::to_string(size - 8) +
                    " bytes after the length field (file truncated?)");
  }
  const std::uint64_t data_size = size - 8 - n;
  const std::byte* data = base + 8 + n;

  // Trailing spaces that pad the header (the format allows them) are JSON whitespace.
  const json header = parse_header(reinterpret_cast<const char*>(base + 8), n, label);

  Parsed out;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.get_ref<const json::object_t&>()) {
    if (name == "__metadata__") {
      out.metadata = parse_metadata(value, label);
    } else {
      entries.push_back(parse_entry(name, value, data_size, label));
    }
  }

  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  // Empty tensors own no bytes, so they cannot overlap anything; among the others, in
  // begin order, each must start at or after the furthest end seen so far.
  const Entry* furthest = nullptr;
  for (const Entry& e : entries) {
    if (e.begin == e.end) continue;
    if (furthest && e.begin < furthest->end) {
      fail(label, "tensors '" + printable(furthest->name) + "' (data_offsets " +
                      offsets_string(furthest->begin, furthest->end) + ") and '" + printable(e.name) +
                      "' (data_offsets " + offsets_string(e.begin, e.end) + ") overlap");
    }
    if (!furthest || e.end > furthest->end) furthest = &e;
  }

  out.tensors.reserve(entries.size());
  for (Entry& e : entries) {
    TensorView v;
    v.name = std::move(e.name);
    v.dtype = e.dtype;
    v.shape = std::move(e.shape);
    v.data = data + e.begin;
    v.nbytes = static_cast<std::size_t>(e.end - e.begin);
    out.index.emplace(v.name, out.tensors.size());
    out.tensors.push_back(std::move(v));
  }
  return out;
}

class Fd {
 public:
  explicit Fd(int fd) : m_fd(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (m_fd >= 0) ::close(m_fd);
  }
  int get() const { return m_fd; }

 private:
  int m_fd = -1;
};

std::string errno_text(int err) { return std::strerror(err); }

}  // namespace

// ---- reading ----------------------------------------------------------------

std::int64_t TensorView::numel() const {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

struct SafetensorsFile::Impl {
  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() {
    if (map) ::munmap(map, map_len);
  }

  std::string label;
  std::uint64_t size = 0;
  void* map = nullptr;  // the read-only mapping, when opened from a file
  std::size_t map_len = 0;
  std::vector<std::byte> copy;  // the bytes, when built by from_bytes
  Parsed parsed;
};

SafetensorsFile::SafetensorsFile(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;
SafetensorsFile::~SafetensorsFile() = default;

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  auto impl = std::make_unique<Impl>();
  impl->label = path.string();
  const std::string& label = impl->label;

  // O_NONBLOCK so that a FIFO passed by mistake is refused below instead of blocking.
  Fd fd(::open(label.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) {
    const int err = errno;
    fail(label, "cannot open: " + errno_text(err));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    const int err = errno;
    fail(label, "cannot stat: " + errno_text(err));
  }
  if (!S_ISREG(st.st_mode)) fail(label, "not a regular file");
  impl->size = static_cast<std::uint64_t>(st.st_size);
  check_size(impl->size, label);  // also keeps mmap from seeing length 0

  // MAP_PRIVATE + PROT_READ: tensors are views into the page cache, never written. If
  // another process truncates the file while it is mapped, reads fault (SIGBUS); model
  // files are replaced by rename, which leaves this mapping intact.
  void* map = ::mmap(nullptr, static_cast<std::size_t>(impl->size), PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (map == MAP_FAILED) {
    const int err = errno;
    throw Error(label + ": cannot memory-map: " + errno_text(err), Error::Kind::Runtime);
  }
  impl->map = map;
  impl->map_len = static_cast<std::size_t>(impl->size);

  impl->parsed = parse(static_cast<const std::byte*>(map), impl->size, label);
  return SafetensorsFile(std::move(impl));
}

SafetensorsFile SafetensorsFile::from_bytes(std::span<const std::byte> bytes, std::string label) {
  auto impl = std::make_unique<Impl>();
  impl->label = std::move(label);
  impl->copy.assign(bytes.begin(), bytes.end());
  impl->size = impl->copy.size();
  impl->parsed = parse(impl->copy.data(), impl->size, impl->label);
  return SafetensorsFile(std::move(impl));
}

const std::string& SafetensorsFile::label() const { return m_impl->label; }
const std::map<std::string, std::string>& SafetensorsFile::metadata() const { return m_impl->parsed.metadata; }
const std::vector<TensorView>& SafetensorsFile::tensors() const { return m_impl->parsed.tensors; }
std::uint64_t SafetensorsFile::file_size() const { return m_impl->size; }

const TensorView* SafetensorsFile::find(std::string_view name) const {
  const auto& index = m_impl->parsed.index;
  const auto it = index.find(name);
  return it == index.end() ? nullptr : &m_impl->parsed.tensors[it->second];
}

// ---- writing ----------------------------------------------------------------

void write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::string label = path.string();

  std::set<std::string_view> names;
  std::vector<std::pair<const TensorToWrite*, std::uint64_t>> order;  // tensor, byte count
  order.reserve(tensors.size());
  for (const TensorToWrite& t : tensors) {
    if (t.name.empty()) fail(label, "a tensor has an empty name");
    if (t.name == "__metadata__") fail(label, "tensor name '__metadata__' is reserved for the metadata entry");
    if (!names.insert(t.name).second) fail(label, "tensor '" + printable(t.name) + "' is given more than once");
    std::uint64_t numel = 1;
    for (std::int64_t d : t.shape) {
      if (d < 0) fail(label, "tensor '" + printable(t.name) + "': shape " + shape_string(t.shape) + " has a negative dimension");
      if (__builtin_mul_overflow(numel, static_cast<std::uint64_t>(d), &numel) || numel > kInt64Max) {
        fail(label, "tensor '" + printable(t.name) + "': shape " + shape_string(t.shape) + " has too many elements");
      }
    }
    std::uint64_t nbytes = 0;
    const bool too_big = __builtin_mul_overflow(numel, static_cast<std::uint64_t>(dtype_size(t.dtype)), &nbytes);
    if (too_big || t.data.size() != nbytes) {
      fail(label, "tensor '" + printable(t.name) + "': data holds " + std::to_string(t.data.size()) +
                      " bytes but shape " + shape_string(t.shape) + " × " + std::string(dtype_name(t.dtype)) +
                      " needs " + (too_big ? std::string("more than 2^64") : std::to_string(nbytes)));
    }
    order.emplace_back(&t, nbytes);
  }

  // The format forbids holes in the data area (readers such as Hugging Face's reject
  // them), so alignment comes from the order instead of padding: widest element type
  // first, then by name. The data area starts 8-aligned and every tensor's size is a
  // multiple of its element size, so each tensor starts at a multiple of its own
  // element size and can be read in place through a typed pointer.
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    const std::size_t sa = dtype_size(a.first->dtype);
    const std::size_t sb = dtype_size(b.first->dtype);
    if (sa != sb) return sa > sb;
    return a.first->name < b.first->name;
  });

  // nlohmann's object is a std::map, so the header lists entries sorted by name.
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const auto& [t, nbytes] : order) {
    json entry = json::object();
    entry["dtype"] = std::string(dtype_name(t->dtype));
    entry["shape"] = t->shape;
    entry["data_offsets"] = json::array({offset, offset + nbytes});
    header[t->name] = std::move(entry);
    offset += nbytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception& e) {
    fail(label, "tensor names and metadata must be valid UTF-8 (" + printable(e.what(), 240) + ")");
  }
  // Pad with spaces so the data area starts 8-aligned in the file (and in a mapping).
  text.append((8 - text.size() % 8) % 8, ' ');
  if (text.size() > SafetensorsFile::kMaxHeaderBytes) {
    fail(label, "header would be " + std::to_string(text.size()) + " bytes, over the limit of " +
                    std::to_string(SafetensorsFile::kMaxHeaderBytes));
  }
  std::byte prefix[8];
  for (int i = 0; i < 8; ++i) prefix[i] = static_cast<std::byte>((text.size() >> (8 * i)) & 0xFF);

  std::vector<std::span<const std::byte>> pieces;
  pieces.reserve(order.size() + 2);
  pieces.emplace_back(prefix, sizeof prefix);
  pieces.emplace_back(reinterpret_cast<const std::byte*>(text.data()), text.size());
  for (const auto& [t, nbytes] : order) pieces.push_back(t->data);
  write_file_atomically(path, pieces);
}

}  // namespace swinscope
