// Binds bpf/crosstalk.h to JavaScript. This file only validates arguments, marshals
// buffers and maps C errors to JS errors carrying code, errno, op and probe; what the
// bytes mean is decoded in TypeScript (agent/native/layout.ts).
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include "crosstalk.h"
}

namespace {

std::string ErrnoName(int negative_errno) {
  // libbpf's own errors (4000 and up) have no errno name.
  const char *name = strerrorname_np(-negative_errno);
  return name ? name : "ELIBBPF";
}

Napi::Error ToJsError(Napi::Env env, const ct_error &e) {
  Napi::Error err = Napi::Error::New(env, e.message);
  err.Set("code", Napi::String::New(env, ErrnoName(e.err)));
  err.Set("errno", Napi::Number::New(env, -e.err));
  err.Set("op", Napi::String::New(env, e.op));
  err.Set("probe", Napi::String::New(env, ct_probe_name(e.probe)));
  return err;
}

bool ThrowType(Napi::Env env, const char *message) {
  Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
  return false;
}

// Reads one window off the JS thread: a map walk can take milliseconds with
// thousands of cgroups, and the agent's event loop must not stall on it.
class ReadWindowWorker : public Napi::AsyncWorker {
 public:
  ReadWindowWorker(Napi::Env env, ct_session *session, std::function<void()> done)
      : Napi::AsyncWorker(env), session_(session), deferred_(Napi::Promise::Deferred::New(env)),
        done_(std::move(done)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    size_t size = 1 << 20;
    for (;;) {
      buffer_.resize(size);
      ssize_t n = ct_read_window(session_, buffer_.data(), buffer_.size(), &error_);
      if (n >= 0) {
        buffer_.resize(n);
        return;
      }
      if (n != -ENOSPC || size >= (256u << 20)) {
        failed_ = true;
        return;
      }
      size *= 2;
    }
  }

  void OnOK() override {
    done_();
    if (failed_) {
      deferred_.Reject(ToJsError(Env(), error_).Value());
      return;
    }
    Napi::ArrayBuffer out = Napi::ArrayBuffer::New(Env(), buffer_.size());
    if (!buffer_.empty()) std::memcpy(out.Data(), buffer_.data(), buffer_.size());
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error &e) override {
    done_();
    deferred_.Reject(e.Value());
  }

 private:
  ct_session *session_;
  Napi::Promise::Deferred deferred_;
  std::function<void()> done_;
  std::vector<char> buffer_;
  ct_error error_{};
  bool failed_ = false;
};

// Reads an optional non-negative integer option (number or bigint).
bool OptionalU64(Napi::Env env, Napi::Object options, const char *name, __u64 &out) {
  Napi::Value v = options.Get(name);
  if (v.IsUndefined()) return true;
  if (v.IsBigInt()) {
    bool lossless = true;
    out = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (lossless) return true;
  } else if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (d >= 0 && d <= 9007199254740991.0 && d == static_cast<double>(static_cast<uint64_t>(d))) {
      out = static_cast<uint64_t>(d);
      return true;
    }
  }
  return ThrowType(env, (std::string("options.") + name + " must be a non-negative integer").c_str());
}

class Session : public Napi::ObjectWrap<Session> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Session",
                       {InstanceMethod<&Session::Status>("status"),
                        InstanceMethod<&Session::SetTargets>("setTargets"),
                        InstanceMethod<&Session::Attach>("attach"),
                        InstanceMethod<&Session::ReadWindow>("readWindow"),
                        InstanceMethod<&Session::DrainEvents>("drainEvents"),
                        InstanceMethod<&Session::ProgramStats>("programStats"),
                        InstanceMethod<&Session::Close>("close")});
  }

  // new Session({ probes: number (bit mask), flags?: number, btfPath?: string,
  //               ioSlowNs?: number|bigint, reclaimSlowNs?: number|bigint,
  //               runqSlowNs?: number|bigint,
  //               testMapEntries?: number, testRingBytes?: number })  (tests only)
  explicit Session(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Session>(info) {
    Napi::Env env = info.Env();
    if (info.Length() != 1 || !info[0].IsObject()) {
      ThrowType(env, "Session(options): options object required");
      return;
    }
    Napi::Object options = info[0].As<Napi::Object>();
    ct_options opts{};
    Napi::Value probes = options.Get("probes");
    if (!probes.IsNumber()) {
      ThrowType(env, "options.probes must be a number (probe bit mask)");
      return;
    }
    opts.probes = probes.As<Napi::Number>().Uint32Value();
    Napi::Value flags = options.Get("flags");
    if (!flags.IsUndefined()) {
      if (!flags.IsNumber()) {
        ThrowType(env, "options.flags must be a number");
        return;
      }
      opts.flags = flags.As<Napi::Number>().Uint32Value();
    }
    std::string btf_path;
    Napi::Value btf = options.Get("btfPath");
    if (!btf.IsUndefined()) {
      if (!btf.IsString()) {
        ThrowType(env, "options.btfPath must be a string");
        return;
      }
      btf_path = btf.As<Napi::String>().Utf8Value();
      opts.btf_path = btf_path.c_str();
    }
    __u64 test_map_entries = 0, test_ring_bytes = 0;
    if (!OptionalU64(env, options, "ioSlowNs", opts.io_slow_ns) ||
        !OptionalU64(env, options, "reclaimSlowNs", opts.reclaim_slow_ns) ||
        !OptionalU64(env, options, "runqSlowNs", opts.runq_slow_ns) ||
        !OptionalU64(env, options, "testMapEntries", test_map_entries) ||
        !OptionalU64(env, options, "testRingBytes", test_ring_bytes))
      return;
    if (test_map_entries > UINT32_MAX || test_ring_bytes > UINT32_MAX) {
      ThrowType(env, "options.testMapEntries and options.testRingBytes must fit in 32 bits");
      return;
    }
    opts.test_map_entries = static_cast<__u32>(test_map_entries);
    opts.test_ring_bytes = static_cast<__u32>(test_ring_bytes);
    ct_error err{};
    if (ct_open(&opts, &session_, &err) != 0) ToJsError(env, err).ThrowAsJavaScriptException();
  }

  ~Session() override { CloseNow(); }

 private:
  bool Open(Napi::Env env) {
    if (session_ && !closing_) return true;
    Napi::Error::New(env, "session is closed").ThrowAsJavaScriptException();
    return false;
  }

  // [{ probe, state, errno, code, attachMode, hierarchyId, op, message }] for every probe.
  Napi::Value Status(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!Open(env)) return env.Undefined();
    Napi::Array out = Napi::Array::New(env, CT_PROBE_COUNT);
    for (int p = 0; p < CT_PROBE_COUNT; p++) {
      ct_probe_status st{};
      ct_status(session_, p, &st);
      Napi::Object o = Napi::Object::New(env);
      o.Set("probe", ct_probe_name(p));
      o.Set("state", st.state);
      o.Set("errno", -st.err);
      o.Set("code", st.err ? Napi::Value(Napi::String::New(env, ErrnoName(st.err))) : env.Undefined());
      o.Set("attachMode", st.attach_mode);
      o.Set("hierarchyId", st.hierarchy_id);
      o.Set("op", st.op);
      o.Set("message", st.message);
      out.Set(p, o);
    }
    return out;
  }

  // setTargets([{ hierarchyId: number, cgroupId: bigint }])
  Napi::Value SetTargets(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!Open(env)) return env.Undefined();
    if (info.Length() != 1 || !info[0].IsArray()) {
      ThrowType(env, "setTargets(targets): array required");
      return env.Undefined();
    }
    Napi::Array list = info[0].As<Napi::Array>();
    std::vector<ct_target> targets(list.Length());
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Value item = list.Get(i);
      if (!item.IsObject()) {
        ThrowType(env, "setTargets: each target must be { hierarchyId, cgroupId }");
        return env.Undefined();
      }
      Napi::Value h = item.As<Napi::Object>().Get("hierarchyId");
      Napi::Value id = item.As<Napi::Object>().Get("cgroupId");
      bool lossless = true;
      if (!h.IsNumber() || !id.IsBigInt()) {
        ThrowType(env, "setTargets: hierarchyId must be a number and cgroupId a bigint");
        return env.Undefined();
      }
      targets[i].hierarchy_id = h.As<Napi::Number>().Int32Value();
      targets[i].cgroup_id = id.As<Napi::BigInt>().Uint64Value(&lossless);
      if (!lossless) {
        ThrowType(env, "setTargets: cgroupId does not fit 64 bits");
        return env.Undefined();
      }
    }
    ct_error err{};
    if (ct_set_targets(session_, targets.data(), targets.size(), &err) != 0)
      ToJsError(env, err).ThrowAsJavaScriptException();
    return env.Undefined();
  }

  Napi::Value Attach(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!Open(env)) return env.Undefined();
    ct_error err{};
    if (ct_attach(session_, &err) != 0) ToJsError(env, err).ThrowAsJavaScriptException();
    return env.Undefined();
  }

  Napi::Value ReadWindow(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!Open(env)) return env.Undefined();
    in_flight_++;
    Ref();  // keep this object alive while the worker holds session_
    auto *worker = new ReadWindowWorker(env, session_, [this] {
      in_flight_--;
      if (closing_ && in_flight_ == 0) CloseNow();
      Unref();
    });
    worker->Queue();
    return worker->Promise();
  }

  // Synchronous: events are copied from ring buffers already in memory (microseconds).
  Napi::Value DrainEvents(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!Open(env)) return env.Undefined();
    std::vector<char> out;
    std::vector<char> chunk(1 << 20);
    for (;;) {
      ct_error err{};
      ssize_t n = ct_drain_events(session_, chunk.data(), chunk.size(), &err);
      if (n < 0) {
        ToJsError(env, err).ThrowAsJavaScriptException();
        return env.Undefined();
      }
      if (n == 0) break;
      out.insert(out.end(), chunk.begin(), chunk.begin() + n);
    }
    Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, out.size());
    if (!out.empty()) std::memcpy(buffer.Data(), out.data(), out.size());
    return buffer;
  }

  // [{ name, probe, runTimeNs, runCount, recursionMisses }] (bigints).
  Napi::Value ProgramStats(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!Open(env)) return env.Undefined();
    std::vector<ct_prog_stats> stats(64);
    int n = ct_program_stats(session_, stats.data(), stats.size());
    if (n > static_cast<int>(stats.size())) {
      stats.resize(n);
      n = ct_program_stats(session_, stats.data(), stats.size());
    }
    Napi::Array out = Napi::Array::New(env, n);
    for (int i = 0; i < n; i++) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", stats[i].name);
      o.Set("probe", ct_probe_name(stats[i].probe));
      o.Set("runTimeNs", Napi::BigInt::New(env, static_cast<uint64_t>(stats[i].run_time_ns)));
      o.Set("runCount", Napi::BigInt::New(env, static_cast<uint64_t>(stats[i].run_count)));
      o.Set("recursionMisses", Napi::BigInt::New(env, static_cast<uint64_t>(stats[i].recursion_misses)));
      out.Set(i, o);
    }
    return out;
  }

  // Idempotent; a read in flight finishes first, then the probes detach.
  Napi::Value Close(const Napi::CallbackInfo &info) {
    closing_ = true;
    if (in_flight_ == 0) CloseNow();
    return info.Env().Undefined();
  }

  void CloseNow() {
    ct_close(session_);
    session_ = nullptr;
  }

  ct_session *session_ = nullptr;
  int in_flight_ = 0;
  bool closing_ = false;
};

// Offsets of every struct that crosses into TypeScript, for the layout test.
Napi::Object Layout(Napi::Env env) {
  Napi::Object layout = Napi::Object::New(env);
  auto add = [&](const char *name, std::initializer_list<std::pair<const char *, size_t>> fields, size_t size) {
    Napi::Object o = Napi::Object::New(env);
    for (auto &[field, offset] : fields) o.Set(field, Napi::Number::New(env, offset));
    o.Set("size", Napi::Number::New(env, size));
    layout.Set(name, o);
  };
#define AT(type, member) offsetof(type, member)
  add("sectionHeader",
      {{"kind", AT(ct_section_header, kind)},
       {"count", AT(ct_section_header, count)},
       {"recordSize", AT(ct_section_header, record_size)}},
      sizeof(ct_section_header));
  add("cpuCgroupRecord",
      {{"cgroupId", AT(ct_cpu_cgroup_record, cgroup_id)},
       {"flags", AT(ct_cpu_cgroup_record, flags)},
       {"oncpuNs", AT(ct_cpu_cgroup_record, v.oncpu_ns)},
       {"slices", AT(ct_cpu_cgroup_record, v.slices)},
       {"involuntary", AT(ct_cpu_cgroup_record, v.involuntary)}},
      sizeof(ct_cpu_cgroup_record));
  add("runqVictimRecord",
      {{"cgroupId", AT(ct_runq_victim_record, cgroup_id)},
       {"flags", AT(ct_runq_victim_record, flags)},
       {"waitNs", AT(ct_runq_victim_record, v.wait_ns)},
       {"waits", AT(ct_runq_victim_record, v.waits)},
       {"unattributedNs", AT(ct_runq_victim_record, v.unattributed_ns)},
       {"hist", AT(ct_runq_victim_record, v.hist)}},
      sizeof(ct_runq_victim_record));
  add("waitPairRecord",
      {{"victim", AT(ct_wait_pair_record, victim)},
       {"aggressor", AT(ct_wait_pair_record, aggressor)},
       {"flags", AT(ct_wait_pair_record, flags)},
       {"waitNs", AT(ct_wait_pair_record, wait_ns)}},
      sizeof(ct_wait_pair_record));
  add("ioStatsRecord",
      {{"cgroupId", AT(ct_io_stats_record, key.cgroup)},
       {"dev", AT(ct_io_stats_record, key.dev)},
       {"op", AT(ct_io_stats_record, key.op)},
       {"sync", AT(ct_io_stats_record, key.sync)},
       {"flags", AT(ct_io_stats_record, flags)},
       {"ops", AT(ct_io_stats_record, v.ops)},
       {"bytes", AT(ct_io_stats_record, v.bytes)}},
      sizeof(ct_io_stats_record));
  add("ioLatencyRecord",
      {{"cgroupId", AT(ct_io_latency_record, key.cgroup)},
       {"dev", AT(ct_io_latency_record, key.dev)},
       {"op", AT(ct_io_latency_record, key.op)},
       {"sync", AT(ct_io_latency_record, key.sync)},
       {"flags", AT(ct_io_latency_record, flags)},
       {"count", AT(ct_io_latency_record, v.count)},
       {"totalNs", AT(ct_io_latency_record, v.total_ns)},
       {"deviceNs", AT(ct_io_latency_record, v.device_ns)},
       {"delayedNs", AT(ct_io_latency_record, v.delayed_ns)},
       {"unattributedNs", AT(ct_io_latency_record, v.unattributed_ns)},
       {"totalHist", AT(ct_io_latency_record, v.total_hist)},
       {"deviceHist", AT(ct_io_latency_record, v.device_hist)}},
      sizeof(ct_io_latency_record));
  add("ioDelayRecord",
      {{"victim", AT(ct_io_delay_record, key.victim)},
       {"holder", AT(ct_io_delay_record, key.holder)},
       {"dev", AT(ct_io_delay_record, key.dev)},
       {"flags", AT(ct_io_delay_record, flags)},
       {"ns", AT(ct_io_delay_record, v.ns)},
       {"requests", AT(ct_io_delay_record, v.requests)}},
      sizeof(ct_io_delay_record));
  add("reclaimRecord",
      {{"cgroupId", AT(ct_reclaim_record, cgroup_id)},
       {"flags", AT(ct_reclaim_record, flags)},
       {"stallNs", AT(ct_reclaim_record, v.stall_ns)},
       {"count", AT(ct_reclaim_record, v.count)},
       {"pages", AT(ct_reclaim_record, v.pages)}},
      sizeof(ct_reclaim_record));
  add("cacheRecord",
      {{"cgroupId", AT(ct_cache_record, cgroup_id)},
       {"flags", AT(ct_cache_record, flags)},
       {"counts", AT(ct_cache_record, v.count)}},
      sizeof(ct_cache_record));
  add("cacheTaskRecord",
      {{"pid", AT(ct_cache_task_record, pid)},
       {"cpu", AT(ct_cache_task_record, cpu)},
       {"flags", AT(ct_cache_task_record, flags)},
       {"counts", AT(ct_cache_task_record, v.count)},
       {"comm", AT(ct_cache_task_record, v.comm)}},
      sizeof(ct_cache_task_record));
  add("windowRecord", {{"timeNs", AT(ct_window_record, time_ns)}}, sizeof(ct_window_record));
  add("healthRecord",
      {{"probe", AT(ct_health_record, probe)},
       {"mapFull", AT(ct_health_record, kernel.map_full)},
       {"eventsDropped", AT(ct_health_record, kernel.events_dropped)},
       {"stackErrors", AT(ct_health_record, kernel.stack_errors)},
       {"readErrors", AT(ct_health_record, kernel.read_errors)},
       {"queueDropped", AT(ct_health_record, queue_dropped)},
       {"stacksLost", AT(ct_health_record, stacks_lost)}},
      sizeof(ct_health_record));
  add("cgroupEvent",
      {{"timeNs", AT(ct_cgroup_event, time_ns)},
       {"cgroupId", AT(ct_cgroup_event, cgroup_id)},
       {"kind", AT(ct_cgroup_event, kind)},
       {"hierarchyId", AT(ct_cgroup_event, hierarchy_id)},
       {"level", AT(ct_cgroup_event, level)},
       {"pathTruncated", AT(ct_cgroup_event, path_truncated)},
       {"path", AT(ct_cgroup_event, path)}},
      sizeof(ct_cgroup_event));
  add("ioEventRecord",
      {{"timeNs", AT(ct_io_event_record, e.time_ns)},
       {"totalNs", AT(ct_io_event_record, e.total_ns)},
       {"deviceNs", AT(ct_io_event_record, e.device_ns)},
       {"sector", AT(ct_io_event_record, e.sector)},
       {"bytes", AT(ct_io_event_record, e.bytes)},
       {"cgroupId", AT(ct_io_event_record, e.cgroup_id)},
       {"pid", AT(ct_io_event_record, e.pid)},
       {"dev", AT(ct_io_event_record, e.dev)},
       {"flags", AT(ct_io_event_record, e.flags)},
       {"stackId", AT(ct_io_event_record, e.stack_id)},
       {"op", AT(ct_io_event_record, e.op)},
       {"comm", AT(ct_io_event_record, e.comm)},
       {"nframes", AT(ct_io_event_record, nframes)},
       {"frames", AT(ct_io_event_record, frames)}},
      sizeof(ct_io_event_record));
  add("reclaimEventRecord",
      {{"timeNs", AT(ct_reclaim_event_record, e.time_ns)},
       {"latencyNs", AT(ct_reclaim_event_record, e.latency_ns)},
       {"pages", AT(ct_reclaim_event_record, e.pages)},
       {"cgroupId", AT(ct_reclaim_event_record, e.cgroup_id)},
       {"tid", AT(ct_reclaim_event_record, e.tid)},
       {"kind", AT(ct_reclaim_event_record, e.kind)},
       {"stackId", AT(ct_reclaim_event_record, e.stack_id)},
       {"comm", AT(ct_reclaim_event_record, e.comm)},
       {"nframes", AT(ct_reclaim_event_record, nframes)},
       {"frames", AT(ct_reclaim_event_record, frames)}},
      sizeof(ct_reclaim_event_record));
  add("runqEvent",
      {{"timeNs", AT(ct_runq_event, time_ns)},
       {"waitNs", AT(ct_runq_event, wait_ns)},
       {"cgroupId", AT(ct_runq_event, cgroup_id)},
       {"unattributedNs", AT(ct_runq_event, unattributed_ns)},
       {"otherNs", AT(ct_runq_event, other_ns)},
       {"prevCgroup", AT(ct_runq_event, prev_cgroup)},
       {"pid", AT(ct_runq_event, pid)},
       {"cpu", AT(ct_runq_event, cpu)},
       {"prevPid", AT(ct_runq_event, prev_pid)},
       {"nholders", AT(ct_runq_event, nholders)},
       {"comm", AT(ct_runq_event, comm)},
       {"prevComm", AT(ct_runq_event, prev_comm)},
       {"holders", AT(ct_runq_event, holders)}},
      sizeof(ct_runq_event));
#undef AT
  return layout;
}

// Numeric constants of bpf/*.h the TypeScript side mirrors (checked by a test).
Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  auto set = [&](const char *name, std::initializer_list<std::pair<const char *, int64_t>> values) {
    Napi::Object o = Napi::Object::New(env);
    for (auto &[key, value] : values) o.Set(key, Napi::Number::New(env, static_cast<double>(value)));
    c.Set(name, o);
  };
  set("limits", {{"histSlots", CT_HIST_SLOTS},
                 {"stackDepth", CT_STACK_DEPTH},
                 {"commLength", CT_COMM_LEN},
                 {"cgroupPathLength", CT_CGROUP_PATH_LEN},
                 {"maxTargets", CT_MAX_TARGETS},
                 {"runRing", CT_RUN_RING},
                 {"runqHolders", CT_RUNQ_HOLDERS},
                 {"cacheCounters", CT_CACHE_COUNTERS},
                 {"reclaimKinds", CT_RECLAIM_KINDS},
                 {"ioOwners", CT_IO_OWNERS},
                 {"holderThreadBit", __builtin_ctzll(CT_HOLDER_THREAD)},
                 {"holderWritebackBit", __builtin_ctzll(CT_HOLDER_WRITEBACK)}});
  set("sections", {{"cpuCgroups", CT_SECTION_CPU_CGROUPS},
                   {"runqVictims", CT_SECTION_RUNQ_VICTIMS},
                   {"waitPairs", CT_SECTION_WAIT_PAIRS},
                   {"ioStats", CT_SECTION_IO_STATS},
                   {"ioLatency", CT_SECTION_IO_LATENCY},
                   {"reclaim", CT_SECTION_RECLAIM},
                   {"cache", CT_SECTION_CACHE},
                   {"health", CT_SECTION_HEALTH},
                   {"window", CT_SECTION_WINDOW},
                   {"cacheTasks", CT_SECTION_CACHE_TASKS},
                   {"ioDelays", CT_SECTION_IO_DELAYS},
                   {"cgroupEvents", CT_SECTION_CGROUP_EVENTS},
                   {"ioEvents", CT_SECTION_IO_EVENTS},
                   {"reclaimEvents", CT_SECTION_RECLAIM_EVENTS},
                   {"runqEvents", CT_SECTION_RUNQ_EVENTS}});
  set("states", {{"off", CT_STATE_OFF},
                 {"loaded", CT_STATE_LOADED},
                 {"active", CT_STATE_ACTIVE},
                 {"unsupported", CT_STATE_UNSUPPORTED},
                 {"failed", CT_STATE_FAILED}});
  set("attachModes", {{"none", CT_ATTACH_NONE}, {"tp_btf", CT_ATTACH_TP_BTF}, {"raw_tp", CT_ATTACH_RAW_TP},
                      {"kmod", CT_ATTACH_KMOD}});
  set("options", {{"captureStacks", CT_OPT_CAPTURE_STACKS},
                  {"forceRawTracepoints", CT_OPT_FORCE_RAW_TP},
                  {"softwareCounters", CT_OPT_SOFTWARE_COUNTERS},
                  {"allCgroups", CT_OPT_ALL_CGROUPS},
                  {"runqEvents", CT_OPT_RUNQ_EVENTS},
                  {"cacheByTask", CT_OPT_CACHE_BY_TASK},
                  {"kmod", CT_OPT_KMOD}});
  set("recordFlags", {{"dead", CT_RECORD_DEAD}});
  set("ioOps", {{"read", CT_IO_READ},
                {"write", CT_IO_WRITE},
                {"flush", CT_IO_FLUSH},
                {"discard", CT_IO_DISCARD},
                {"other", CT_IO_OTHER}});
  set("ioFlags", {{"sync", CT_IO_F_SYNC},
                  {"meta", CT_IO_F_META},
                  {"readahead", CT_IO_F_READAHEAD},
                  {"fua", CT_IO_F_FUA},
                  {"preflush", CT_IO_F_PREFLUSH}});
  set("reclaimKinds", {{"direct", CT_RECLAIM_DIRECT}, {"memcg", CT_RECLAIM_MEMCG}});
  set("cgroupEventKinds", {{"mkdir", CT_CGROUP_MKDIR}, {"rmdir", CT_CGROUP_RMDIR}});
  set("cacheCounters", {{"llcReferences", CT_CACHE_LLC_REFERENCES},
                        {"llcMisses", CT_CACHE_LLC_MISSES},
                        {"cycles", CT_CACHE_CYCLES},
                        {"instructions", CT_CACHE_INSTRUCTIONS}});
  return c;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Session", Session::Define(env));
  exports.Set("layout", Layout(env));
  exports.Set("constants", Constants(env));
  Napi::Object probes = Napi::Object::New(env);
  for (int p = 0; p < CT_PROBE_COUNT; p++) probes.Set(ct_probe_name(p), Napi::Number::New(env, p));
  exports.Set("probes", probes);
  return exports;
}

}  // namespace

NODE_API_MODULE(crosstalk, Init)
