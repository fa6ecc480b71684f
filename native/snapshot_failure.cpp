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
  if (!text.empty()) {
    lastFfmpegError = text;
  }
}

}  // namespace

const char* errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidParameter:
      return "InvalidParameter";
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
    case ErrorCode::Internal:
      return "InternalError";
  }
  return "InternalError";
}

std::string describeAvError(int averror) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(averror, text, sizeof text);
  std::string description(text);
  if (!lastFfmpegError.empty()) {
    description += " (" + lastFfmpegError + ")";
    lastFfmpegError.clear();
  }
  return description;
}

ErrorCode errorCodeForAvError(int averror) {
  if (averror == AVERROR(ENOENT) || averror == AVERROR(ENOTDIR)) {
    return ErrorCode::ResourceNotFound;
  }
  if (averror == AVERROR(EACCES) || averror == AVERROR(EPERM)) {
    return ErrorCode::PermissionDenied;
  }
  if (averror == AVERROR(ENOMEM)) {
    return ErrorCode::Internal;
  }
  return ErrorCode::ResourceContentBad;
}

void installFfmpegLogCapture() {
  static std::once_flag installed;
  std::call_once(installed, [] { av_log_set_callback(captureFfmpegLog); });
}

void clearCapturedFfmpegLog() { lastFfmpegError.clear(); }

}  // namespace framesnap
