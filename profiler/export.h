#pragma once
// Trace exporters: Chrome trace-event JSON (opens in Perfetto and chrome://tracing, and
// SwinScope reads it back) and CSV. Files are written to a temporary name and renamed,
// so a crash never leaves half a trace under the real name.
//
// JSON layout: {"traceEvents": [...], "displayTimeUnit": "ms", "swinscope": {...}}.
// - One process (pid 1, 2, ...) per Trace, i.e. per model variant, named by an `M`
//   process_name event; one thread per run (tid = run + 1), named by thread_name.
// - Each run is an `X` event (cat "run") and each span an `X` event (cat "span") with
//   ts/dur in microseconds; ts counts from the trace's first run, so the variants of one
//   file start together. args = {block, stage, kind, run, depth}.
// - "swinscope" = {"format": "swinscope-trace", "version": 1, "traces": [{pid, context,
//   end_to_end_us_unrecorded, unmatched_ends, unclosed_spans}]}.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "profiler/trace.h"

namespace swinscope::profiler {

std::string to_chrome_json(const std::vector<Trace>& traces);
void export_chrome_json(const std::vector<Trace>& traces, const std::filesystem::path& path);
void export_chrome_json(const Trace& trace, const std::filesystem::path& path);

// Reads SwinScope's own JSON back (not arbitrary Chrome traces: the context and the span
// args must be there). Throws TraceError naming `source` and the offending event.
std::vector<Trace> parse_chrome_json(std::string_view text, std::string_view source = "<string>");
std::vector<Trace> import_chrome_json(const std::filesystem::path& path);

// Header `run,block,stage,kind,name,depth,start_us,dur_us`, one row per span, times
// with nanosecond precision; text fields quoted as RFC 4180 asks when needed.
std::string to_csv(const Trace& trace);
void export_csv(const Trace& trace, const std::filesystem::path& path);

// Writes `contents` to `path` through a temporary file in the same directory.
void write_file_atomically(const std::filesystem::path& path, std::string_view contents);

}  // namespace swinscope::profiler
