// Demuxer: one open video file and its best video stream. One per job, not
// thread-safe; every other stream is discarded.
#pragma once

#include <cstdint>
#include <string>

#include "ffmpeg_ptr.h"
#include "interruption.h"

namespace framesnap {

class Demuxer {
 public:
  // `interruption` is watched for the demuxer's whole life (the caller may
  // assign it a new value per call). Opens `path` as a local file (never as a URL or protocol) with
  // a whitelist of video container formats. `probeStreams` forces avformat_find_stream_info;
  // otherwise it runs only when the container header lacks the codec parameters a decoder needs.
  Demuxer(const std::string& path, const Interruption& interruption, bool probeStreams);

  AVFormatContext* context() const { return context_.get(); }
  AVStream* stream() const { return stream_; }
  int streamIndex() const { return stream_->index; }

  // Presentation time of the file's start in stream time base: times given
  // by users count from here, as the ffmpeg CLI's -ss does.
  int64_t originTimestamp() const { return origin_; }
  // Milliseconds from the file's start -> stream time base. Rounded up,
  // "pts >= firstTimestampAtOrAfter(ms)" means "at or after ms"; rounded
  // down, "pts <= lastTimestampAtOrBefore(ms)" means "at or before ms".
  int64_t firstTimestampAtOrAfter(double milliseconds) const;
  int64_t lastTimestampAtOrBefore(double milliseconds) const;
  // Stream time base -> milliseconds from the file's start, to the microsecond.
  double toMilliseconds(int64_t timestamp) const;
  double durationMs() const;

  // Positions the demuxer on the keyframe at or before `timestamp` as far as
  // the container can tell (it may land earlier, or later on some formats:
  // callers verify with what they read).
  void seekToKeyframeBefore(int64_t timestamp);
  // Positions the demuxer on the first packet of the file. Containers that
  // FFmpeg seeks by a search on decode time (MPEG-TS, raw streams) would land
  // after the first keyframe, so they go back to byte 0 instead.
  void seekToStart();
  // Reads the next packet of the video stream into `packet`. False at end of file.
  bool readVideoPacket(AVPacket* packet);

 private:
  const Interruption& interruption_;
  UniqueFormatContext context_;
  AVStream* stream_ = nullptr;
  int64_t toTimestamp(double milliseconds, AVRounding rounding) const;

  int64_t origin_ = 0;
};

}  // namespace framesnap
