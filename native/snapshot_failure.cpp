#include "snapshot_failure.h"

extern "C" {
#include <libavutil/error.h>
#include <libavutil/log.h>
}

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <mutex>

namespace framesnap {
namespace {

thread_local std::string lastFfmpegError;
thread_local bool oversizedPicture = false;
thread_local int64_t oversizedWidth = 0;
thread_local int64_t oversizedHeight = 0;

constexpr size_t kLongestLoggedLine = 300;

bool isHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// " @ 0x7f05fc000c40" (an object's heap address in FFmpeg's line prefix) is
// dropped; a whitelist FFmpeg quotes is not repeated; the line is bounded.
std::string sanitizedLogLine(std::string text) {
  for (size_t at = text.find(" @ 0x"); at != std::string::npos; at = text.find(" @ 0x", at)) {
    size_t end = at + 5;
    while (end < text.size() && isHexDigit(text[end])) {
      ++end;
    }
    text.erase(at, end - at);
  }
  const size_t whitelist = text.find("not on whitelist");
  if (whitelist != std::string::npos) {
    text = text.substr(0, whitelist) + "not accepted";
  }
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      c = ' ';
    }
  }
  if (text.size() > kLongestLoggedLine) {
    text = text.substr(0, kLongestLoggedLine - 3) + "...";
  }
  return text;
}

void captureFfmpegLog(void* avClass, int level, const char* format, va_list arguments) {
  if (level > AV_LOG_ERROR) {
    return;
  }
  char line[512];
  int printPrefix = 1;
  av_log_format_line2(avClass, level, format, arguments, line, sizeof line, &printPrefix);
  std::string text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  unsigned width = 0;
  unsigned height = 0;
  const size_t picture = text.find("Picture size ");
  if (picture != std::string::npos &&
      text.find("exceeds specified max pixel count") != std::string::npos &&
      std::sscanf(text.c_str() + picture, "Picture size %ux%u", &width, &height) == 2) {
    oversizedPicture = true;
    oversizedWidth = width;
    oversizedHeight = height;
  }
  if (!text.empty()) {
    lastFfmpegError = sanitizedLogLine(std::move(text));
  }
}

}  // namespace

const char* errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidParameter:
      return "InvalidParameter";
    case ErrorCode::OutOfRange:
      return "InvalidParameter.OutOfRange";
    case ErrorCode::ResourceNotFound:
      return "InvalidParameter.ResourceNotFound";
    case ErrorCode::ResourceContentBad:
      return "InvalidParameter.ResourceContentBad";
    case ErrorCode::PermissionDenied:
      return "PermissionDenied.ResourceAccess";
    case ErrorCode::TimedOut:
      return "SnapshotTimeOut";
    case ErrorCode::Aborted:
      return "Aborted";
    case ErrorCode::TransientNetwork:
      return "TransientNetWorkError";
    case ErrorCode::Internal:
      return "InternalError";
  }
  return "InternalError";
}

std::string describeAvError(int averror) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(averror, text, sizeof text);
  return std::string(text) + takeCapturedFfmpegLog();
}

std::string takeCapturedFfmpegLog() {
  if (lastFfmpegError.empty()) {
    return "";
  }
  std::string logged = " (" + lastFfmpegError + ")";
  lastFfmpegError.clear();
  return logged;
}

ErrorCode errorCodeForErrno(int error) {
  switch (error) {
    case ENOENT:
    case ENOTDIR:
      return ErrorCode::ResourceNotFound;
    case EACCES:
    case EPERM:
    case EROFS:
    case ELOOP:
      return ErrorCode::PermissionDenied;
    case ENAMETOOLONG:
      return ErrorCode::InvalidParameter;
    // The system failing, not the file, as TypeScript's table says
    // (src/core/errors.ts).
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case ENOSPC:
      return ErrorCode::Internal;
    // Anything else is the file's content: FFmpeg reports bad data with
    // errnos too (EINVAL, ERANGE, ENOSYS for a missing feature, and EIO from
    // demuxers that meet a truncated file), unlike a failing fs call in
    // TypeScript, where EIO is the disk's.
    default:
      return ErrorCode::ResourceContentBad;
  }
}

ErrorCode errorCodeForAvError(int averror) {
  // AVERROR(e) is -e for an errno; FFmpeg's own error tags are far below.
  constexpr int kLargestErrno = 4095;
  if (averror < 0 && averror >= -kLargestErrno) {
    return errorCodeForErrno(AVUNERROR(averror));
  }
  return ErrorCode::ResourceContentBad;
}

void installFfmpegLogCapture() {
  static std::once_flag installed;
  std::call_once(installed, [] { av_log_set_callback(captureFfmpegLog); });
}

void clearCapturedFfmpegLog() {
  lastFfmpegError.clear();
  oversizedPicture = false;
}

bool takeOversizedPicture(int64_t& width, int64_t& height) {
  if (!oversizedPicture) {
    return false;
  }
  oversizedPicture = false;
  width = oversizedWidth;
  height = oversizedHeight;
  return true;
}

}  // namespace framesnap
