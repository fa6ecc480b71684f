// Cancellation and deadline of one native call. Read from the decoding thread;
// the abort flag may be written from any thread (it lives in a
// SharedArrayBuffer or in the addon's per-environment state).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace framesnap {

class Interruption {
 public:
  Interruption() = default;
  Interruption(const int32_t* abortFlag,
               std::shared_ptr<const std::atomic<bool>> environmentClosing, double timeoutMs);

  bool requested() const;
  // Throws SnapshotFailure (Aborted or TimedOut) when interruption was requested.
  void throwIfRequested() const;
  // For AVIOInterruptCB: returns 1 to make FFmpeg stop blocking I/O.
  static int ffmpegCallback(void* self);

 private:
  bool timedOut() const;
  bool aborted() const;

  const int32_t* abortFlag_ = nullptr;
  std::shared_ptr<const std::atomic<bool>> environmentClosing_;
  bool hasDeadline_ = false;
  std::chrono::steady_clock::time_point deadline_;
};

}  // namespace framesnap
