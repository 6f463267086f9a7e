#include "profiler/export.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <system_error>
#include <thread>

#include <nlohmann/json.hpp>

namespace swinscope::profiler {

using Json = nlohmann::ordered_json;

namespace {

constexpr const char* kFormat = "swinscope-trace";
constexpr int kVersion = 1;

std::string process_name(const TraceContext& c) {
  std::string name = c.variant.empty() ? "trace" : c.variant;
  std::string detail = c.backend;
  if (!c.model.empty()) detail += (detail.empty() ? "" : ", ") + c.model;
  if (!c.device.empty()) detail += (detail.empty() ? "" : ", ") + c.device;
  return detail.empty() ? name : name + " (" + detail + ")";
}

Json meta_event(const char* what, int pid, int tid, Json args) {
  return Json{{"name", what}, {"ph", "M"}, {"pid", pid}, {"tid", tid}, {"args", std::move(args)}};
}

Json x_event(const std::string& name, const char* cat, double ts, double dur, int pid, int tid, Json args) {
  return Json{{"name", name}, {"cat", cat}, {"ph", "X"}, {"ts", ts},     {"dur", dur},
              {"pid", pid},   {"tid", tid}, {"args", std::move(args)}};
}

// ---- import helpers: every failure names the source and the item ----

[[noreturn]] void fail(std::string_view source, const std::string& where, const std::string& reason) {
  throw TraceError(std::string(source) + ": " + where + ": " + reason);
}

const Json& member(std::string_view source, const std::string& where, const Json& obj, const char* key) {
  if (!obj.is_object()) fail(source, where, "expected an object");
  auto it = obj.find(key);
  if (it == obj.end()) fail(source, where, std::string("missing \"") + key + "\"");
  return *it;
}

int get_int(std::string_view source, const std::string& where, const Json& obj, const char* key) {
  const Json& v = member(source, where, obj, key);
  if (!v.is_number_integer()) fail(source, where, std::string("\"") + key + "\" must be an integer, found " + v.dump());
  return v.get<int>();
}

double get_number(std::string_view source, const std::string& where, const Json& obj, const char* key) {
  const Json& v = member(source, where, obj, key);
  if (!v.is_number() || !std::isfinite(v.get<double>()))
    fail(source, where, std::string("\"") + key + "\" must be a finite number, found " + v.dump());
  return v.get<double>();
}

std::string get_string(std::string_view source, const std::string& where, const Json& obj, const char* key) {
  const Json& v = member(source, where, obj, key);
  if (!v.is_string()) fail(source, where, std::string("\"") + key + "\" must be a string, found " + v.dump());
  return v.get<std::string>();
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string quoted = "\"";
  for (char c : s) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

}  // namespace

std::string to_chrome_json(const std::vector<Trace>& traces) {
  // One event per line: the file stays greppable and diffable, and valid JSON.
  std::string out = "{\"traceEvents\": [\n";
  bool first = true;
  auto emit = [&](const Json& event) {
    if (!first) out += ",\n";
    first = false;
    out += event.dump();
  };
  Json meta = Json::array();
  for (std::size_t t = 0; t < traces.size(); ++t) {
    const Trace& trace = traces[t];
    const int pid = static_cast<int>(t) + 1;
    emit(meta_event("process_name", pid, 0, {{"name", process_name(trace.context)}}));
    emit(meta_event("process_sort_index", pid, 0, {{"sort_index", pid}}));

    std::map<int, double> run_start;
    for (const TraceRun& r : trace.runs) run_start.emplace(r.run, r.start_us);
    std::set<int> threads;  // every run that has a run event or a span
    for (const TraceRun& r : trace.runs) threads.insert(r.run);
    for (const TraceSpan& s : trace.spans) threads.insert(s.run);
    for (int run : threads) {
      emit(meta_event("thread_name", pid, run + 1, {{"name", "run " + std::to_string(run)}}));
      emit(meta_event("thread_sort_index", pid, run + 1, {{"sort_index", run}}));
    }
    for (const TraceRun& r : trace.runs)
      emit(x_event("run " + std::to_string(r.run), "run", r.start_us, r.dur_us, pid, r.run + 1, {{"run", r.run}}));
    for (const TraceSpan& s : trace.spans) {
      auto it = run_start.find(s.run);
      const double offset = it == run_start.end() ? 0.0 : it->second;
      emit(x_event(s.name, "span", offset + s.start_us, s.dur_us, pid, s.run + 1,
                   {{"block", s.block}, {"stage", s.stage}, {"kind", s.kind}, {"run", s.run}, {"depth", s.depth}}));
    }
    const TraceContext& c = trace.context;
    meta.push_back({{"pid", pid},
                    {"context",
                     {{"model", c.model}, {"variant", c.variant}, {"backend", c.backend}, {"device", c.device},
                      {"batch", c.batch}, {"runs", c.runs}, {"warmup", c.warmup}, {"notes", c.notes}}},
                    {"end_to_end_us_unrecorded", trace.end_to_end_us_unrecorded},
                    {"unmatched_ends", trace.unmatched_ends},
                    {"unclosed_spans", trace.unclosed_spans}});
  }
  const Json info{{"format", kFormat}, {"version", kVersion}, {"traces", std::move(meta)}};
  out += "\n],\n\"displayTimeUnit\": \"ms\",\n\"swinscope\": " + info.dump(1) + "\n}\n";
  return out;
}

void export_chrome_json(const std::vector<Trace>& traces, const std::filesystem::path& path) {
  write_file_atomically(path, to_chrome_json(traces));
}

void export_chrome_json(const Trace& trace, const std::filesystem::path& path) {
  export_chrome_json(std::vector<Trace>{trace}, path);
}

std::vector<Trace> parse_chrome_json(std::string_view text, std::string_view source) {
  Json root;
  try {
    root = Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    fail(source, "JSON", e.what());
  }
  const Json& info = member(source, "top level", root, "swinscope");
  if (get_string(source, "swinscope", info, "format") != kFormat)
    fail(source, "swinscope.format", std::string("expected \"") + kFormat + "\"");
  if (const int v = get_int(source, "swinscope", info, "version"); v != kVersion)
    fail(source, "swinscope.version", "expected " + std::to_string(kVersion) + ", found " + std::to_string(v));
  const Json& metas = member(source, "swinscope", info, "traces");
  if (!metas.is_array()) fail(source, "swinscope.traces", "expected an array");

  std::vector<Trace> traces;
  std::map<int, std::size_t> by_pid;
  for (std::size_t i = 0; i < metas.size(); ++i) {
    const std::string where = "swinscope.traces[" + std::to_string(i) + "]";
    const Json& m = metas[i];
    const int pid = get_int(source, where, m, "pid");
    if (!by_pid.emplace(pid, traces.size()).second) fail(source, where, "pid " + std::to_string(pid) + " repeated");
    Trace& t = traces.emplace_back();
    const Json& c = member(source, where, m, "context");
    const std::string cw = where + ".context";
    t.context = TraceContext{get_string(source, cw, c, "model"),   get_string(source, cw, c, "variant"),
                             get_string(source, cw, c, "backend"), get_string(source, cw, c, "device"),
                             get_int(source, cw, c, "batch"),      get_int(source, cw, c, "runs"),
                             get_int(source, cw, c, "warmup"),     get_string(source, cw, c, "notes")};
    t.end_to_end_us_unrecorded = get_number(source, where, m, "end_to_end_us_unrecorded");
    t.unmatched_ends = get_int(source, where, m, "unmatched_ends");
    t.unclosed_spans = get_int(source, where, m, "unclosed_spans");
  }

  const Json& events = member(source, "top level", root, "traceEvents");
  if (!events.is_array()) fail(source, "traceEvents", "expected an array");
  std::vector<std::vector<double>> span_ts(traces.size());  // absolute ts until runs are known
  for (std::size_t i = 0; i < events.size(); ++i) {
    const std::string where = "traceEvents[" + std::to_string(i) + "]";
    const Json& e = events[i];
    if (get_string(source, where, e, "ph") != "X") continue;  // metadata and anything newer
    const int pid = get_int(source, where, e, "pid");
    auto it = by_pid.find(pid);
    if (it == by_pid.end()) fail(source, where, "pid " + std::to_string(pid) + " has no entry in swinscope.traces");
    Trace& t = traces[it->second];
    const double ts = get_number(source, where, e, "ts");
    const double dur = get_number(source, where, e, "dur");
    if (dur < 0) fail(source, where, "negative duration " + std::to_string(dur));
    const Json& args = member(source, where, e, "args");
    const std::string aw = where + ".args";
    if (get_string(source, where, e, "cat") == "run") {
      t.runs.push_back(TraceRun{get_int(source, aw, args, "run"), ts, dur});
      continue;
    }
    TraceSpan& s = t.spans.emplace_back();
    s.name = get_string(source, where, e, "name");
    s.kind = get_string(source, aw, args, "kind");
    s.stage = get_int(source, aw, args, "stage");
    s.block = get_int(source, aw, args, "block");
    s.depth = get_int(source, aw, args, "depth");
    s.run = get_int(source, aw, args, "run");
    s.dur_us = dur;
    span_ts[it->second].push_back(ts);
  }
  for (std::size_t t = 0; t < traces.size(); ++t) {
    std::map<int, double> run_start;
    for (const TraceRun& r : traces[t].runs) run_start.emplace(r.run, r.start_us);
    for (std::size_t i = 0; i < traces[t].spans.size(); ++i) {
      auto it = run_start.find(traces[t].spans[i].run);
      traces[t].spans[i].start_us = span_ts[t][i] - (it == run_start.end() ? 0.0 : it->second);
    }
  }
  return traces;
}

std::vector<Trace> import_chrome_json(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw TraceError(path.string() + ": cannot open for reading (" + std::generic_category().message(errno) + ")");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw TraceError(path.string() + ": read failed");
  return parse_chrome_json(text.str(), path.string());
}

std::string to_csv(const Trace& trace) {
  std::string out = "run,block,stage,kind,name,depth,start_us,dur_us\n";
  out.reserve(out.size() + trace.spans.size() * 64);
  char times[64];
  for (const TraceSpan& s : trace.spans) {
    std::snprintf(times, sizeof times, "%.3f,%.3f", s.start_us, s.dur_us);
    out += std::to_string(s.run) + ',' + std::to_string(s.block) + ',' + std::to_string(s.stage) + ',' +
           csv_field(s.kind) + ',' + csv_field(s.name) + ',' + std::to_string(s.depth) + ',' + times + '\n';
  }
  return out;
}

void export_csv(const Trace& trace, const std::filesystem::path& path) { write_file_atomically(path, to_csv(trace)); }

void write_file_atomically(const std::filesystem::path& path, std::string_view contents) {
  // Unique per thread and moment, so two writers of the same file never share a temporary.
  const auto salt = std::hash<std::thread::id>{}(std::this_thread::get_id()) ^
                    static_cast<std::size_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  std::filesystem::path tmp = path;
  tmp += ".tmp-" + std::to_string(salt);
  {
    errno = 0;
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out)
      throw TraceError(path.string() + ": cannot create temporary file " + tmp.string() + " (" +
                       (errno ? std::strerror(errno) : "unknown error") + ")");
    errno = 0;
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.flush();
    if (out) out.close();  // close can fail too (a network or quota file system reports there)
    if (!out) {
      // errno says why (e.g. "No space left on device"); the stream itself does not.
      const std::string why = errno ? std::strerror(errno) : "unknown error";
      std::error_code ignored;
      std::filesystem::remove(tmp, ignored);
      throw TraceError(path.string() + ": write failed (" + why + "); the previous file, if any, is unchanged");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw TraceError(path.string() + ": cannot rename temporary file into place: " + ec.message());
  }
}

}  // namespace swinscope::profiler
