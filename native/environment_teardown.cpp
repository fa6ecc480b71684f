#include "environment_teardown.h"

#include <cstdlib>
#include <new>

// Node-API hands addons the environment's libuv loop (napi_get_uv_event_loop),
// but the Node-API headers cmake-js builds against carry no uv.h. These are
// the few libuv 1.x functions used here, as uv.h declares them (libuv keeps
// its ABI stable across 1.x; Node exports these symbols to addons).
// uv_handle_type is an int-sized enum: 9 is UV_PREPARE in every 1.x release.
extern "C" {
struct uv_loop_s;
struct uv_handle_s;
size_t uv_handle_size(int type);
int uv_prepare_init(uv_loop_s* loop, uv_prepare_s* prepare);
int uv_prepare_start(uv_prepare_s* prepare, void (*callback)(uv_prepare_s*));
int uv_prepare_stop(uv_prepare_s* prepare);
void uv_unref(uv_handle_s* handle);
void uv_close(uv_handle_s* handle, void (*closed)(uv_handle_s*));
void uv_handle_set_data(uv_handle_s* handle, void* data);
void* uv_handle_get_data(const uv_handle_s* handle);
}

namespace framesnap {
namespace {

constexpr int kUvPrepare = 9;

uv_handle_s* asHandle(uv_prepare_s* prepare) { return reinterpret_cast<uv_handle_s*>(prepare); }

}  // namespace

EnvironmentTeardown::EnvironmentTeardown(napi_env env)
    : env_(env), thread_(std::this_thread::get_id()) {}

// The watch is closed by the last call's completion; a handle still open here
// (the addon freed with calls in flight, which Node does not do) is left to
// the loop rather than freed under it.
EnvironmentTeardown::~EnvironmentTeardown() = default;

bool EnvironmentTeardown::javascriptCanRun() const {
  // napi_strict_equals runs no JavaScript and allocates nothing, but, as every
  // Node-API call that may run JavaScript, refuses (napi_pending_exception)
  // once the environment cannot call into JavaScript any more: it is stopping.
  napi_value undefined = nullptr;
  bool same = false;
  return napi_get_undefined(env_, &undefined) == napi_ok &&
         napi_strict_equals(env_, undefined, undefined, &same) == napi_ok;
}

bool EnvironmentTeardown::requested() const {
  if (stopping_.load(std::memory_order_acquire)) {
    return true;
  }
  // Only a synchronous call's own thread may ask Node-API.
  if (std::this_thread::get_id() == thread_ && syncCalls_ > 0 && !javascriptCanRun()) {
    stopping_.store(true, std::memory_order_release);
    return true;
  }
  return false;
}

void EnvironmentTeardown::onPrepare(uv_prepare_s* handle) {
  auto* self = static_cast<EnvironmentTeardown*>(uv_handle_get_data(asHandle(handle)));
  if (!self->javascriptCanRun()) {
    self->stopping_.store(true, std::memory_order_release);
  }
}

void EnvironmentTeardown::asyncCallStarted() {
  if (asyncCalls_++ > 0 || watch_ != nullptr) {
    return;
  }
  uv_loop_s* loop = nullptr;
  if (napi_get_uv_event_loop(env_, &loop) != napi_ok || loop == nullptr) {
    return;  // no loop to watch: termination waits for the call, as before
  }
  auto* prepare = static_cast<uv_prepare_s*>(std::malloc(uv_handle_size(kUvPrepare)));
  if (prepare == nullptr) {
    throw std::bad_alloc();
  }
  if (uv_prepare_init(loop, prepare) != 0) {
    std::free(prepare);
    return;
  }
  uv_handle_set_data(asHandle(prepare), this);
  uv_prepare_start(prepare, &EnvironmentTeardown::onPrepare);
  // The watch alone never keeps the loop alive.
  uv_unref(asHandle(prepare));
  watch_ = prepare;
}

void EnvironmentTeardown::asyncCallFinished() {
  if (--asyncCalls_ > 0 || watch_ == nullptr) {
    return;
  }
  uv_prepare_stop(watch_);
  uv_close(asHandle(watch_), [](uv_handle_s* handle) { std::free(handle); });
  watch_ = nullptr;
}

}  // namespace framesnap
