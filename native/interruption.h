// Cancellation and deadline of one native call. Read from the decoding thread;
// the abort flag may be written from any thread (it lives in a
// SharedArrayBuffer), and the environment's stop is raised by the binding.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

namespace framesnap {

// Tells the calls of one JavaScript environment (the main thread or a worker)
// that it is being torn down (worker.terminate(), process exit): they stop at
// their next check. The binding implements it; the core only asks.
// `requested` may be called from any thread.
class EnvironmentStop {
 public:
  virtual ~EnvironmentStop() = default;
  virtual bool requested() const = 0;
};

class Interruption {
 public:
  Interruption() = default;
  Interruption(const int32_t* abortFlag, std::shared_ptr<const EnvironmentStop> environmentStop,
               double timeoutMs);

  bool requested() const;
  // Throws SnapshotFailure (Aborted or TimedOut) when interruption was requested.
  void throwIfRequested() const;
  // For AVIOInterruptCB: returns 1 to make FFmpeg stop blocking I/O.
  static int ffmpegCallback(void* self);

 private:
  bool timedOut() const;
  bool aborted() const;

  const int32_t* abortFlag_ = nullptr;
  std::shared_ptr<const EnvironmentStop> environmentStop_;
  bool hasDeadline_ = false;
  std::chrono::steady_clock::time_point deadline_;
};

}  // namespace framesnap
