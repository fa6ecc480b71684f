// Notices that a JavaScript environment (the main thread or a worker) is being
// torn down while native calls of it still run, and stops them: without this,
// worker.terminate() waits for a decode that may take many seconds.
//
// Node finishes an environment's outstanding thread-pool work before it runs
// its cleanup hooks (Environment::RunCleanup calls CleanupHandles, which spins
// the loop until no request is waiting, and only then drains the hooks), and
// a synchronous call blocks the thread that would run them: a cleanup hook or
// the addon's destructor comes too late for both. What does come in time:
//   - a synchronous call runs on the environment's own thread, where a
//     Node-API call that may run JavaScript fails as soon as the environment
//     is stopping (worker.terminate() sets that from the parent thread);
//   - for asynchronous calls, a libuv prepare handle on the environment's loop
//     runs once more when CleanupHandles spins the loop to wait for them, and
//     asks the same question there.
// Either way the stop is then raised for every call of the environment, which
// they see at their next Interruption check.
//
// One per environment, owned by the addon instance; created, and its
// call-counting methods used, on the environment's thread only.
// `requested` may be called from any thread.
#pragma once

#include <node_api.h>

#include <atomic>
#include <memory>
#include <thread>

#include "interruption.h"

struct uv_prepare_s;

namespace framesnap {

class EnvironmentTeardown : public EnvironmentStop {
 public:
  explicit EnvironmentTeardown(napi_env env);
  ~EnvironmentTeardown() override;
  EnvironmentTeardown(const EnvironmentTeardown&) = delete;
  EnvironmentTeardown& operator=(const EnvironmentTeardown&) = delete;

  bool requested() const override;

  // Brackets a synchronous call, which decodes on this thread.
  class SyncCall {
   public:
    explicit SyncCall(EnvironmentTeardown& teardown) : teardown_(teardown) {
      ++teardown_.syncCalls_;
    }
    ~SyncCall() { --teardown_.syncCalls_; }
    SyncCall(const SyncCall&) = delete;
    SyncCall& operator=(const SyncCall&) = delete;

   private:
    EnvironmentTeardown& teardown_;
  };

  // Brackets an asynchronous call, from its creation to its completion
  // callback: the loop is watched while one is in flight.
  void asyncCallStarted();
  void asyncCallFinished();

 private:
  // False once the environment is stopping. On this environment's thread only.
  bool javascriptCanRun() const;
  static void onPrepare(uv_prepare_s* handle);

  napi_env env_;
  std::thread::id thread_;
  mutable std::atomic<bool> stopping_{false};
  int syncCalls_ = 0;              // this environment's thread only
  int asyncCalls_ = 0;             // this environment's thread only
  uv_prepare_s* watch_ = nullptr;  // open while asyncCalls_ > 0
};

}  // namespace framesnap
