// Binds bpf/crosstalk.h to JavaScript. This file only validates arguments, marshals
// buffers and maps C errors to JS errors carrying code, errno, op and probe; what the
// bytes mean is decoded in TypeScript (agent/native/layout.ts).
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <vector>

extern "C" {
#include "crosstalk.h"
}

namespace {

Napi::Error ToJsError(Napi::Env env, const ct_error &e) {
  Napi::Error err = Napi::Error::New(env, e.message);
  // libbpf's own errors (4000 and up) have no errno name.
  const char *name = strerrorname_np(-e.err);
  err.Set("code", Napi::String::New(env, name ? name : "ELIBBPF"));
  err.Set("errno", Napi::Number::New(env, -e.err));
  err.Set("op", Napi::String::New(env, e.op));
  err.Set("probe", Napi::String::New(env, ct_probe_name(e.probe)));
  return err;
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

class Session : public Napi::ObjectWrap<Session> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Session",
                       {InstanceMethod<&Session::Attach>("attach"),
                        InstanceMethod<&Session::ReadWindow>("readWindow"),
                        InstanceMethod<&Session::Close>("close")});
  }

  // new Session({ probes: number (bit mask), btfPath?: string })
  explicit Session(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Session>(info) {
    Napi::Env env = info.Env();
    if (info.Length() != 1 || !info[0].IsObject()) {
      Napi::TypeError::New(env, "Session(options): options object required").ThrowAsJavaScriptException();
      return;
    }
    Napi::Object options = info[0].As<Napi::Object>();
    Napi::Value probes = options.Get("probes");
    if (!probes.IsNumber()) {
      Napi::TypeError::New(env, "options.probes must be a number (probe bit mask)").ThrowAsJavaScriptException();
      return;
    }
    ct_options opts{};
    opts.probes = probes.As<Napi::Number>().Uint32Value();
    std::string btf_path;
    Napi::Value btf = options.Get("btfPath");
    if (!btf.IsUndefined()) {
      if (!btf.IsString()) {
        Napi::TypeError::New(env, "options.btfPath must be a string").ThrowAsJavaScriptException();
        return;
      }
      btf_path = btf.As<Napi::String>().Utf8Value();
      opts.btf_path = btf_path.c_str();
    }
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
  add("sectionHeader",
      {{"kind", offsetof(ct_section_header, kind)},
       {"count", offsetof(ct_section_header, count)},
       {"recordSize", offsetof(ct_section_header, record_size)}},
      sizeof(ct_section_header));
  add("cpuRecord",
      {{"cgroupId", offsetof(ct_cpu_record, cgroup_id)}, {"switchesIn", offsetof(ct_cpu_record, switches_in)}},
      sizeof(ct_cpu_record));
  return layout;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Session", Session::Define(env));
  exports.Set("layout", Layout(env));
  Napi::Object probes = Napi::Object::New(env);
  for (int p = 0; p < CT_PROBE_COUNT; p++) probes.Set(ct_probe_name(p), Napi::Number::New(env, p));
  exports.Set("probes", probes);
  return exports;
}

}  // namespace

NODE_API_MODULE(crosstalk, Init)
