// The one exception type of the native core. Its code is a SnapshotError code
// string of the SPEC (section 8), or one of framesnap's own for cancellation.
#pragma once

#include <stdexcept>
#include <string>

namespace framesnap {

enum class ErrorCode {
  InvalidParameter,
  ResourceNotFound,
  ResourceContentBad,
  PermissionDenied,
  TimedOut,
  Aborted,
  Internal,
};

const char* errorCodeName(ErrorCode code);

class SnapshotFailure : public std::runtime_error {
 public:
  SnapshotFailure(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

// Text of an AVERROR value, followed by the last error FFmpeg logged on this
// thread when there is one ("Invalid data found when processing input: ...").
std::string describeAvError(int averror);

// Maps an AVERROR from opening or reading a file to the code a user sees.
ErrorCode errorCodeForAvError(int averror);

// Routes FFmpeg's log to a per-thread buffer instead of stderr. Idempotent.
void installFfmpegLogCapture();
void clearCapturedFfmpegLog();

}  // namespace framesnap
