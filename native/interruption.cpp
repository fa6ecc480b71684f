#include "interruption.h"

#include "snapshot_failure.h"

namespace framesnap {

Interruption::Interruption(const int32_t* abortFlag,
                           std::shared_ptr<const EnvironmentStop> environmentStop, double timeoutMs)
    : abortFlag_(abortFlag), environmentStop_(std::move(environmentStop)) {
  // Past about 31 years a deadline is no deadline (and the clock arithmetic
  // below would overflow); NaN and values of 0 or less mean none too.
  constexpr double kLongestDeadlineMs = 1e12;
  if (timeoutMs > 0 && timeoutMs < kLongestDeadlineMs) {
    hasDeadline_ = true;
    deadline_ = std::chrono::steady_clock::now() +
                std::chrono::microseconds(static_cast<int64_t>(timeoutMs * 1000.0));
  }
}

bool Interruption::aborted() const {
  // The flag is shared with JavaScript (Atomics.store); read it atomically.
  if (abortFlag_ != nullptr && __atomic_load_n(abortFlag_, __ATOMIC_ACQUIRE) != 0) {
    return true;
  }
  return environmentStop_ && environmentStop_->requested();
}

bool Interruption::timedOut() const {
  return hasDeadline_ && std::chrono::steady_clock::now() >= deadline_;
}

bool Interruption::requested() const { return aborted() || timedOut(); }

void Interruption::throwIfRequested() const {
  if (aborted()) {
    throw SnapshotFailure(ErrorCode::Aborted, "the snapshot was cancelled");
  }
  if (timedOut()) {
    throw SnapshotFailure(ErrorCode::TimedOut, "the snapshot ran past its deadline");
  }
}

int Interruption::ffmpegCallback(void* self) {
  return static_cast<const Interruption*>(self)->requested() ? 1 : 0;
}

}  // namespace framesnap
