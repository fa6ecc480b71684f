// The one exception type of the native core. Its code is a SnapshotError code
// string of the SPEC (section 8), or one of framesnap's own for cancellation.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace framesnap {

enum class ErrorCode {
  InvalidParameter,
  OutOfRange,
  ResourceNotFound,
  ResourceContentBad,
  PermissionDenied,
  TimedOut,
  Aborted,
  // A network input failed in a way worth retrying (TransientNetWorkError).
  TransientNetwork,
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
// The logged line has no heap addresses ("[mov,mp4,m4a,3gp,3g2,mj2]", not
// "[... @ 0x7f05fc000c40]") and no whitelists, and is at most a few hundred
// characters.
std::string describeAvError(int averror);
// " (the last error FFmpeg logged on this thread)", or "" when none; clears it.
std::string takeCapturedFfmpegLog();

// The native core's one errno-to-code table: what failing to open or read a
// file with this errno means to a user. ENOENT, ENOTDIR: ResourceNotFound;
// EACCES, EPERM, ELOOP: PermissionDenied; ENAMETOOLONG: InvalidParameter;
// ENOMEM: Internal; anything else: ResourceContentBad.
ErrorCode errorCodeForErrno(int error);
// The same for an AVERROR from opening or reading a file: an errno FFmpeg
// passed on goes through the table above; FFmpeg's own errors
// (AVERROR_INVALIDDATA, ...) are about the content.
ErrorCode errorCodeForAvError(int averror);

// A decoder refused a picture over its max_pixels (FFmpeg logs "Picture size
// WxH exceeds specified max pixel count"): true once, with the size, when that
// happened on this thread since the last call or clear.
bool takeOversizedPicture(int64_t& width, int64_t& height);

// Routes FFmpeg's log to a per-thread buffer instead of stderr. Idempotent.
void installFfmpegLogCapture();
void clearCapturedFfmpegLog();

}  // namespace framesnap
