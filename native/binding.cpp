// The Node-API face of the native core: the sync and async entry points and
// per-environment state. Arguments are read by binding_arguments.cpp, and
// environment_teardown.cpp stops running calls when a worker is terminated;
// everything else in native/ is free of Node-API and runs on any thread.
#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libswscale/swscale.h>
}

#include "binding_arguments.h"
#include "environment_teardown.h"
#include "frame_extractor.h"
#include "interruption.h"
#include "malloc_tuning.h"
#include "probe.h"
#include "snapshot_failure.h"

namespace framesnap {
namespace {

struct ExtractCall;

// Bytes of frame pixels handed to JavaScript without a copy and not freed
// yet, in the whole process (see ReleaseFramePixels; tests read it).
std::atomic<int64_t> framePixelBytesHeld{0};

// Per-environment (main thread or worker) state.
class FramesnapAddon : public Napi::Addon<FramesnapAddon> {
 public:
  FramesnapAddon(Napi::Env env, Napi::Object exports)
      : teardown_(std::make_shared<EnvironmentTeardown>(env)) {
    DefineAddon(exports,
                {
                    InstanceMethod("setErrorClass", &FramesnapAddon::SetErrorClass),
                    InstanceMethod("setLimits", &FramesnapAddon::SetLimits),
                    InstanceMethod("probeSync", &FramesnapAddon::ProbeSync),
                    InstanceMethod("probe", &FramesnapAddon::ProbeAsync),
                    InstanceMethod("extractFramesSync", &FramesnapAddon::ExtractFramesSync),
                    InstanceMethod("extractFrames", &FramesnapAddon::ExtractFramesAsync),
                    InstanceMethod("durationSync", &FramesnapAddon::DurationSync),
                    InstanceMethod("versions", &FramesnapAddon::Versions),
                    InstanceMethod("releaseCachedFile", &FramesnapAddon::ReleaseCachedFile),
                    InstanceMethod("releaseFramePixels", &FramesnapAddon::ReleaseFramePixels),
                    InstanceMethod("mallocTuning", &FramesnapAddon::MallocTuningInfo),
                    InstanceMethod("framePixelBytesHeld", &FramesnapAddon::FramePixelBytesHeld),
                });
    tuneMallocOnce();  // once per process, before the first decode (malloc_tuning.cpp)
  }

  Napi::Value makeError(Napi::Env env, ErrorCode code, const std::string& message) {
    if (!errorClass_.IsEmpty()) {
      return errorClass_.New(
          {Napi::String::New(env, errorCodeName(code)), Napi::String::New(env, message)});
    }
    Napi::Error error = Napi::Error::New(env, message);
    error.Set("code", Napi::String::New(env, errorCodeName(code)));
    return error.Value();
  }

  [[noreturn]] void throwError(Napi::Env env, ErrorCode code, const std::string& message) {
    throw Napi::Error(env, makeError(env, code, message));
  }

  Interruption interruptionFor(const CallOptions& options) const {
    return Interruption(options.abortFlag, teardown_, options.timeoutMs);
  }

  EnvironmentTeardown& teardown() { return *teardown_; }
  const RequestLimits& limits() const { return limits_; }

  // The open file kept for the next call on it (one per environment: a pool
  // worker keeps the file of its last job), with the reuse key it was opened
  // under (see ExtractCall). Taken out while in use.
  std::unique_ptr<FrameExtractor> takeCachedExtractor(std::string& reuseKey) {
    reuseKey = std::move(cachedReuseKey_);
    return std::move(cachedExtractor_);
  }
  void keepExtractor(std::unique_ptr<FrameExtractor> extractor, std::string reuseKey) {
    if (extractor) {
      cachedExtractor_ = std::move(extractor);
      cachedReuseKey_ = std::move(reuseKey);
    }
  }

 private:
  Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsFunction()) {
      throw Napi::TypeError::New(info.Env(), "setErrorClass expects a constructor");
    }
    errorClass_ = Napi::Persistent(info[0].As<Napi::Function>());
    return info.Env().Undefined();
  }

  // The bounds TypeScript validated the requests against (NATIVE_LIMITS),
  // handed over once when the addon loads; requests are held to them.
  Napi::Value SetLimits(const Napi::CallbackInfo& info);

  Napi::Value ProbeSync(const Napi::CallbackInfo& info);
  Napi::Value ProbeAsync(const Napi::CallbackInfo& info);
  Napi::Value ExtractFramesSync(const Napi::CallbackInfo& info);
  Napi::Value ExtractFramesAsync(const Napi::CallbackInfo& info);
  Napi::Value DurationSync(const Napi::CallbackInfo& info);
  std::shared_ptr<ExtractCall> prepareExtractCall(Napi::Value value, const CallOptions& options);
  void finishExtractCall(ExtractCall& call);

  // Drops this environment's kept-open file (a pool worker going idle must
  // not keep a huge file's demuxer and decoder pinned). A call running on it
  // keeps it until it finishes and then puts it back.
  // With a reuse key, only an open file kept under that key is dropped (a
  // call over a URL lets its connection go when it ends).
  Napi::Value ReleaseCachedFile(const Napi::CallbackInfo& info) {
    if (info.Length() >= 1 && info[0].IsString()) {
      if (cachedExtractor_ && cachedReuseKey_ == info[0].As<Napi::String>().Utf8Value()) {
        cachedExtractor_.reset();
        cachedReuseKey_.clear();
      }
      return info.Env().Undefined();
    }
    cachedExtractor_.reset();
    cachedReuseKey_.clear();
    // And what its decoder's frames and the jobs before left free inside
    // malloc's heaps (measured after the benchmark: 136-139 -> 115-123 MiB).
    releaseFreeMemory();
    return info.Env().Undefined();
  }

  // Frees a frame's pixels now rather than at the next garbage collection,
  // which may be many frames later: V8 does not see the memory behind a
  // frame's buffer (6 MB at 1080p), so nothing urges it to collect. The
  // buffer is detached (its length becomes 0) and the image it held is
  // freed on this thread's next turn of the event loop. Only a buffer that
  // spans its whole ArrayBuffer is detached (never a slice of a shared pool);
  // anything else is left alone.
  Napi::Value ReleaseFramePixels(const Napi::CallbackInfo& info) {
    if (info.Length() >= 1 && info[0].IsTypedArray()) {
      const Napi::TypedArray view = info[0].As<Napi::TypedArray>();
      Napi::ArrayBuffer buffer = view.ArrayBuffer();
      if (!buffer.IsDetached() && view.ByteOffset() == 0 &&
          view.ByteLength() == buffer.ByteLength()) {
        try {
          buffer.Detach();
        } catch (const Napi::Error&) {
          // Not detachable: the garbage collector frees it, as before.
        }
      }
    }
    return info.Env().Undefined();
  }

  Napi::Value FramePixelBytesHeld(const Napi::CallbackInfo& info) {
    return Napi::Number::New(
        info.Env(), static_cast<double>(framePixelBytesHeld.load(std::memory_order_relaxed)));
  }

  // What the addon did to glibc's malloc when the process first loaded it
  // (malloc_tuning.cpp), and a live probe of its effect.
  Napi::Value MallocTuningInfo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const MallocTuning& tuning = tuneMallocOnce();
    Napi::Object object = Napi::Object::New(env);
    object.Set("applied", tuning.applied);
    object.Set("reason",
               tuning.reason.empty() ? env.Null() : Napi::String::New(env, tuning.reason));
    object.Set("arenaMax", tuning.arenaMax);
    object.Set("mmapThresholdBytes", tuning.mmapThresholdBytes);
    object.Set("largeAllocationsMapped", largeAllocationsAreMapped());
    return object;
  }

  Napi::Value Versions(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object versions = Napi::Object::New(env);
    versions.Set("ffmpeg", av_version_info());
    const auto dotted = [](unsigned version) {
      return std::to_string(AV_VERSION_MAJOR(version)) + "." +
             std::to_string(AV_VERSION_MINOR(version)) + "." +
             std::to_string(AV_VERSION_MICRO(version));
    };
    versions.Set("libavformat", dotted(avformat_version()));
    versions.Set("libavcodec", dotted(avcodec_version()));
    versions.Set("libswscale", dotted(swscale_version()));
    versions.Set("libavutil", dotted(avutil_version()));
    return versions;
  }

  std::shared_ptr<EnvironmentTeardown> teardown_;
  RequestLimits limits_;
  Napi::FunctionReference errorClass_;
  std::unique_ptr<FrameExtractor> cachedExtractor_;
  std::string cachedReuseKey_;
};

// A request with `reuse: true` runs on the environment's cached open file when
// it is still the same file, and leaves its extractor there afterwards.
// A URL is reused only by calls that give the same reuse key (the calls of one
// snapshots() or one job): a server gives no inode to tell that the file is
// unchanged since another call read it.
struct ExtractCall {
  ExtractRequest request;
  std::optional<RemoteOptions> remote;  // set: request.path is an http(s) URL
  std::string reuseKey;                 // this call's; for a URL, never empty when reuse is set
  bool reuse = false;
  std::unique_ptr<FrameExtractor> extractor;  // cached one, if any, taken out
  std::string extractorReuseKey;              // the key the cached one was opened under

  // The cached extractor when it is still the same file, else a fresh open.
  FrameExtractor& open(const Interruption& interruption) {
    installFfmpegLogCapture();
    FileIdentity identity = remote ? identifyUrl(request.path, *remote, request.threads)
                                   : identifyFile(request.path, request.threads);
    identity.limitInputPixels = request.selection.limits.inputPixels;
    if (!extractor || !(extractor->identity() == identity) ||
        (remote && extractorReuseKey != reuseKey)) {
      extractor.reset();
      extractor = std::make_unique<FrameExtractor>(std::move(identity), interruption);
    }
    return *extractor;
  }

  std::vector<ExtractedFrame> run(const Interruption& interruption) {
    FrameExtractor& opened = open(interruption);
    try {
      return opened.extract(request.selection, interruption);
    } catch (...) {
      extractor.reset();  // its position is unknown after a failure
      throw;
    }
  }
};

// ---- Result conversion (main thread only) --------------------------------

Napi::Value framesToJs(Napi::Env env, const std::vector<ExtractedFrame>& frames) {
  Napi::Array array = Napi::Array::New(env, frames.size());
  std::set<const RgbImage*> handedOut;
  for (uint32_t i = 0; i < frames.size(); ++i) {
    const ExtractedFrame& frame = frames[i];
    const RgbImage& image = *frame.image;
    Napi::Buffer<uint8_t> pixels;
    if (handedOut.insert(&image).second) {
      // Hand the pixels to JavaScript without a copy; the buffer keeps the image alive.
      auto* owner = new std::shared_ptr<const RgbImage>(frame.image);
      pixels = Napi::Buffer<uint8_t>::New(
          env, const_cast<uint8_t*>(image.pixels.data()), image.pixels.size(),
          [](Napi::Env, uint8_t*, std::shared_ptr<const RgbImage>* held) {
            framePixelBytesHeld.fetch_sub(static_cast<int64_t>((*held)->pixels.size()),
                                          std::memory_order_relaxed);
            delete held;
          },
          owner);
      framePixelBytesHeld.fetch_add(static_cast<int64_t>(image.pixels.size()),
                                    std::memory_order_relaxed);
    } else {
      pixels = Napi::Buffer<uint8_t>::Copy(env, image.pixels.data(), image.pixels.size());
    }
    Napi::Object object = Napi::Object::New(env);
    object.Set("requestedMs", frame.requestedMs);
    object.Set("timeMs", frame.timeMs);
    object.Set("keyframe", frame.keyframe);
    object.Set("width", image.width);
    object.Set("height", image.height);
    object.Set("rgb", pixels);
    array.Set(i, object);
  }
  return array;
}

Napi::Value probeToJs(Napi::Env env, const ProbeResult& probe) {
  Napi::Object object = Napi::Object::New(env);
  const auto stringOrNull = [&](const std::string& text) -> Napi::Value {
    return text.empty() ? env.Null() : Napi::String::New(env, text);
  };
  object.Set("formatName", probe.formatName);
  object.Set("codecName", probe.codecName);
  object.Set("pixelFormat", stringOrNull(probe.pixelFormat));
  object.Set("bitDepth", probe.bitDepth);
  object.Set("durationMs",
             probe.durationMs >= 0 ? Napi::Number::New(env, probe.durationMs) : env.Null());
  object.Set("startTimeMs", probe.startTimeMs);
  object.Set("width", probe.width);
  object.Set("height", probe.height);
  object.Set("displayWidth", probe.displayWidth);
  object.Set("displayHeight", probe.displayHeight);
  object.Set("rotation", probe.rotation);
  Napi::Array sampleAspectRatio = Napi::Array::New(env, 2);
  sampleAspectRatio.Set(0u, probe.sampleAspectNum);
  sampleAspectRatio.Set(1u, probe.sampleAspectDen);
  object.Set("sampleAspectRatio", sampleAspectRatio);
  object.Set("frameRate", probe.frameRate);
  object.Set("colorSpace", probe.colorSpace);
  object.Set("colorRange", probe.colorRange);
  object.Set("colorPrimaries", probe.colorPrimaries);
  object.Set("colorTransfer", probe.colorTransfer);
  object.Set("keyframeCount", probe.keyframeCount >= 0
                                  ? Napi::Number::New(env, static_cast<double>(probe.keyframeCount))
                                  : env.Null());
  return object;
}

// A file, or with `remote` an http(s) URL.
ProbeResult probeInput(const std::string& path, const std::optional<RemoteOptions>& remote,
                       const PixelLimits& limits, const Interruption& interruption) {
  return remote ? probeUrl(path, *remote, interruption, limits)
                : probeFile(path, interruption, limits);
}

// ---- One core function, two ways to run it -------------------------------

template <typename Result>
Result runGuarded(FramesnapAddon& addon, Napi::Env env, const std::function<Result()>& work) {
  try {
    return work();
  } catch (const SnapshotFailure& failure) {
    addon.throwError(env, failure.code(), failure.what());
  } catch (const std::bad_alloc&) {
    addon.throwError(env, ErrorCode::Internal, "out of memory");
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& unexpected) {
    addon.throwError(env, ErrorCode::Internal, unexpected.what());
  }
}

// The async entry points reject (never throw) when their arguments break an
// invariant, as they do for every other failure.
Napi::Value rejectingOnFailure(FramesnapAddon& addon, Napi::Env env,
                               const std::function<Napi::Value()>& start) {
  try {
    return start();
  } catch (const SnapshotFailure& failure) {
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    deferred.Reject(addon.makeError(env, failure.code(), failure.what()));
    return deferred.Promise();
  }
}

template <typename Result>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<Result(const Interruption&)>;
  using ToJs = std::function<Napi::Value(Napi::Env, const Result&)>;

  PromiseWorker(Napi::Env env, FramesnapAddon& addon, CallOptions options, Work work, ToJs toJs)
      : Napi::AsyncWorker(env, "framesnap"),
        deferred_(Napi::Promise::Deferred::New(env)),
        addon_(addon),
        options_(std::move(options)),
        interruption_(addon.interruptionFor(options_)),
        work_(std::move(work)),
        toJs_(std::move(toJs)) {
    addon_.teardown().asyncCallStarted();
  }

  // Runs on the JavaScript thread once the call completed (or never ran).
  ~PromiseWorker() override { addon_.teardown().asyncCallFinished(); }

  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      result_ = work_(interruption_);
    } catch (const SnapshotFailure& failure) {
      fail(failure.code(), failure.what());
    } catch (const std::bad_alloc&) {
      fail(ErrorCode::Internal, "out of memory");
    } catch (const std::exception& unexpected) {
      fail(ErrorCode::Internal, unexpected.what());
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(toJs_(env, result_));
    } catch (const Napi::Error& error) {
      deferred_.Reject(error.Value());
    }
  }

  void OnError(const Napi::Error&) override {
    deferred_.Reject(addon_.makeError(Env(), code_, message_));
  }

 private:
  void fail(ErrorCode code, const std::string& message) {
    code_ = code;
    message_ = message;
    SetError(message);
  }

  Napi::Promise::Deferred deferred_;
  FramesnapAddon& addon_;
  CallOptions options_;  // holds the abort flag's array alive until completion
  Interruption interruption_;
  Work work_;
  ToJs toJs_;
  Result result_;
  ErrorCode code_ = ErrorCode::Internal;
  std::string message_;
};

template <typename Result>
Napi::Value startAsync(Napi::Env env, FramesnapAddon& addon, CallOptions options,
                       typename PromiseWorker<Result>::Work work,
                       typename PromiseWorker<Result>::ToJs toJs) {
  auto* worker =
      new PromiseWorker<Result>(env, addon, std::move(options), std::move(work), std::move(toJs));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

Napi::Value FramesnapAddon::SetLimits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  limits_ = runGuarded<RequestLimits>(*this, env, [&] { return readLimits(info[0]); });
  return env.Undefined();
}

Napi::Value FramesnapAddon::ProbeSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const EnvironmentTeardown::SyncCall sync(teardown());
  const ProbeResult result = runGuarded<ProbeResult>(*this, env, [&] {
    const std::string path = readPath(info[0]);
    const CallOptions options = readCallOptions(info[1], limits_);
    return probeInput(path, options.remote, options.limits, interruptionFor(options));
  });
  return probeToJs(env, result);
}

Napi::Value FramesnapAddon::ProbeAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return rejectingOnFailure(*this, env, [&] {
    std::string path = readPath(info[0]);
    CallOptions options = readCallOptions(info[1], limits_);
    const PixelLimits limits = options.limits;
    const std::optional<RemoteOptions> remote = options.remote;
    return startAsync<ProbeResult>(
        env, *this, std::move(options),
        [path, limits, remote](const Interruption& interruption) {
          return probeInput(path, remote, limits, interruption);
        },
        probeToJs);
  });
}

std::shared_ptr<ExtractCall> FramesnapAddon::prepareExtractCall(Napi::Value value,
                                                                const CallOptions& options) {
  ExtractArguments arguments = readExtractArguments(value, options.limits, limits_);
  auto call = std::make_shared<ExtractCall>();
  call->request = std::move(arguments.request);
  call->remote = options.remote;
  call->reuseKey = options.reuseKey;
  call->reuse = arguments.reuse && (!options.remote || !options.reuseKey.empty());
  if (call->reuse) {
    call->extractor = takeCachedExtractor(call->extractorReuseKey);
  }
  return call;
}

void FramesnapAddon::finishExtractCall(ExtractCall& call) {
  if (call.reuse) {
    keepExtractor(std::move(call.extractor), call.reuseKey);
  }
}

Napi::Value FramesnapAddon::ExtractFramesSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const EnvironmentTeardown::SyncCall sync(teardown());
  std::shared_ptr<ExtractCall> call;
  const auto frames = runGuarded<std::vector<ExtractedFrame>>(*this, env, [&] {
    const CallOptions options = readCallOptions(info[1], limits_);
    call = prepareExtractCall(info[0], options);
    return call->run(interruptionFor(options));
  });
  finishExtractCall(*call);
  return framesToJs(env, frames);
}

// The duration (ms, null when unknown) of the file an extract request names,
// from the open file that request would use: with `reuse`, the extract that
// follows decodes from the same open, with no second open or probe.
Napi::Value FramesnapAddon::DurationSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const EnvironmentTeardown::SyncCall sync(teardown());
  std::shared_ptr<ExtractCall> call;
  const double durationMs = runGuarded<double>(*this, env, [&] {
    const CallOptions options = readCallOptions(info[1], limits_);
    call = prepareExtractCall(info[0], options);
    return call->open(interruptionFor(options)).durationMs();
  });
  finishExtractCall(*call);
  return durationMs >= 0 ? Napi::Number::New(env, durationMs) : env.Null();
}

Napi::Value FramesnapAddon::ExtractFramesAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return rejectingOnFailure(*this, env, [&] {
    CallOptions options = readCallOptions(info[1], limits_);
    const std::shared_ptr<ExtractCall> call = prepareExtractCall(info[0], options);
    return startAsync<std::vector<ExtractedFrame>>(
        env, *this, std::move(options),
        [call](const Interruption& interruption) { return call->run(interruption); },
        [this, call](Napi::Env resultEnv, const std::vector<ExtractedFrame>& frames) {
          finishExtractCall(*call);
          return framesToJs(resultEnv, frames);
        });
  });
}

}  // namespace
}  // namespace framesnap

using framesnap::FramesnapAddon;
NODE_API_ADDON(FramesnapAddon)
