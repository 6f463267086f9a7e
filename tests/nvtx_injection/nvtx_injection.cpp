// A minimal NVTX injection library for tests/test_nvtx.cpp: it stands in for a profiler such
// as Nsight Systems and records the domain calls the CUDA recorder makes, so a CPU-only CI
// checks what Nsight would show.
//
// How it gets in: NVTX 3 is header-only and every API call starts as a stub that, on the
// process's first NVTX call, reads NVTX_INJECTION64_PATH, dlopen()s that library and calls its
// InitializeInjectionNvtx2. That function fills NVTX's function table with the tool's
// implementations (the slots left empty stay no-ops).
//
// What the test sees: sws_nvtx_log() returns one line per call, fields separated by tabs:
//   create  <domain>
//   string  <domain> <text>
//   push    <domain> <colorType> <color> <payloadType> <payload> <messageType> <message>
//   pop     <domain>
//   destroy <domain>
// <payload> is written for NVTX_PAYLOAD_TYPE_INT32 only ("-" otherwise); <message> is resolved
// from a registered handle or an ASCII string. A push whose attributes NVTX would reject
// (null, or smaller than the version-3 struct) is logged as "push <domain> invalid".
#include <nvtx3/nvToolsExt.h>

#include <cstdint>
#include <deque>
#include <initializer_list>
#include <map>
#include <mutex>
#include <string>

namespace {

// Handles are addresses of these records: non-null, distinct, and stable (std::deque never
// moves its elements on push_back). The same name gives back the same domain.
struct Domain {
  std::string name;
  int depth = 0;  // open push/pop ranges, for the return values NVTX documents
};
struct String {
  std::string text;
};

std::mutex g_mutex;  // NVTX may be called from any thread; one lock keeps the log whole
std::deque<Domain> g_domains;
std::deque<String> g_strings;
std::map<std::string, Domain*> g_domain_by_name;
Domain g_default_domain{"<default>", 0};  // a null domain handle means NVTX's default domain
std::string g_log;
std::string g_snapshot;  // what sws_nvtx_log() last returned; kept alive until the next call

Domain& domain_of(nvtxDomainHandle_t h) {
  return h ? *reinterpret_cast<Domain*>(h) : g_default_domain;
}

void log_line(std::initializer_list<std::string> fields) {
  bool first = true;
  for (const std::string& f : fields) {
    if (!first) g_log += '\t';
    g_log += f;
    first = false;
  }
  g_log += '\n';
}

nvtxDomainHandle_t NVTX_API domain_create_a(const char* name) {
  const std::lock_guard lock(g_mutex);
  const std::string n = name ? name : "";
  Domain*& d = g_domain_by_name[n];
  if (!d) d = &g_domains.emplace_back(Domain{n, 0});
  log_line({"create", n});
  return reinterpret_cast<nvtxDomainHandle_t>(d);
}

void NVTX_API domain_destroy(nvtxDomainHandle_t domain) {
  const std::lock_guard lock(g_mutex);
  log_line({"destroy", domain_of(domain).name});
}

nvtxStringHandle_t NVTX_API domain_register_string_a(nvtxDomainHandle_t domain, const char* text) {
  const std::lock_guard lock(g_mutex);
  String& s = g_strings.emplace_back(String{text ? text : ""});
  log_line({"string", domain_of(domain).name, s.text});
  return reinterpret_cast<nvtxStringHandle_t>(&s);
}

int NVTX_API domain_range_push_ex(nvtxDomainHandle_t domain, const nvtxEventAttributes_t* a) {
  const std::lock_guard lock(g_mutex);
  Domain& d = domain_of(domain);
  if (!a || a->size < NVTX_EVENT_ATTRIB_STRUCT_SIZE) {
    log_line({"push", d.name, "invalid"});
    return -1;
  }
  std::string message;
  if (a->messageType == NVTX_MESSAGE_TYPE_REGISTERED && a->message.registered)
    message = reinterpret_cast<const String*>(a->message.registered)->text;
  else if (a->messageType == NVTX_MESSAGE_TYPE_ASCII && a->message.ascii)
    message = a->message.ascii;
  log_line({"push", d.name, std::to_string(a->colorType), std::to_string(a->color), std::to_string(a->payloadType),
            a->payloadType == NVTX_PAYLOAD_TYPE_INT32 ? std::to_string(a->payload.iValue) : "-",
            std::to_string(a->messageType), message});
  return d.depth++;  // the 0-based level of the range just opened
}

int NVTX_API domain_range_pop(nvtxDomainHandle_t domain) {
  const std::lock_guard lock(g_mutex);
  Domain& d = domain_of(domain);
  log_line({"pop", d.name});
  return d.depth > 0 ? --d.depth : -1;  // the level of the range just closed; < 0: none open
}

}  // namespace

extern "C" {

// Called by NVTX, once, on the process's first NVTX call. Returns 1 on success; on 0 NVTX
// unloads the library and every call stays a no-op.
__attribute__((visibility("default"))) int InitializeInjectionNvtx2(NvtxGetExportTableFunc_t get_export_table) {
  const auto* callbacks = static_cast<const NvtxExportTableCallbacks*>(get_export_table(NVTX_ETID_CALLBACKS));
  if (!callbacks || callbacks->struct_size < sizeof(NvtxExportTableCallbacks)) return 0;
  NvtxFunctionTable table = nullptr;  // table[cbid] points at NVTX's function pointer for that call
  unsigned int size = 0;             // valid slots: 1 .. size-1
  if (!callbacks->GetModuleFunctionTable(NVTX_CB_MODULE_CORE2, &table, &size) || !table) return 0;
  const auto set = [&](unsigned int cbid, auto fn) {
    if (cbid >= size || !table[cbid]) return false;
    *table[cbid] = reinterpret_cast<NvtxFunctionPointer>(fn);
    return true;
  };
  return set(NVTX_CBID_CORE2_DomainCreateA, &domain_create_a) && set(NVTX_CBID_CORE2_DomainDestroy, &domain_destroy) &&
                 set(NVTX_CBID_CORE2_DomainRegisterStringA, &domain_register_string_a) &&
                 set(NVTX_CBID_CORE2_DomainRangePushEx, &domain_range_push_ex) &&
                 set(NVTX_CBID_CORE2_DomainRangePop, &domain_range_pop)
             ? 1
             : 0;
}

// Everything logged since the last sws_nvtx_clear(); valid until the next call of either.
__attribute__((visibility("default"))) const char* sws_nvtx_log() {
  const std::lock_guard lock(g_mutex);
  g_snapshot = g_log;
  return g_snapshot.c_str();
}

__attribute__((visibility("default"))) void sws_nvtx_clear() {
  const std::lock_guard lock(g_mutex);
  g_log.clear();
}

}  // extern "C"
