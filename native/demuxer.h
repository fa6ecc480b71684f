// Demuxer: one open video file and its best video stream. One per job, not
// thread-safe; every other stream is discarded.
#pragma once

#include <cstdint>
#include <string>

#include "display_geometry.h"
#include "ffmpeg_ptr.h"
#include "interruption.h"
#include "remote_reader.h"

namespace framesnap {

// The demuxers a file may be opened with: FFmpeg's names, comma-separated.
const char* videoFormatWhitelist();

// TEST-ONLY crash hook, for the tests that prove process isolation (issue 8):
// when the environment variable FRAMESNAP_TEST_CRASH_SUFFIX is set non-empty
// and `path` ends with it, the native core crashes with a real SIGSEGV
// (raise, not a bad pointer: the same signal, without undefined behaviour).
// Never set it outside tests. Read at each open: identifyFile and Demuxer call it.
void crashWhenTestAsks(const std::string& path);

class Demuxer {
 public:
  // `interruption` is watched for the demuxer's whole life (the caller may
  // assign it a new value per call). Opens `path` as a local file (never as a URL or protocol) with
  // a whitelist of video container formats. `probeStreams` forces avformat_find_stream_info;
  // otherwise it runs only when the container header lacks the codec parameters a decoder needs.
  // Only the chosen video stream is probed and demuxed. `limitInputPixels`
  // bounds the pictures a stream probe may decode (FFmpeg's max_pixels); a
  // probe refused for it fails with ResourceContentBad naming the limit.
  // Messages never contain the path.
  // With `remote`, `path` is an http(s) URL read through a RemoteReader (see
  // remote_reader.h) with those options; no FFmpeg protocol is opened at all.
  Demuxer(const std::string& path, const Interruption& interruption, bool probeStreams,
          int64_t limitInputPixels = kDefaultPixelLimit, const RemoteOptions* remote = nullptr);

  // The remote reader, null for a local file (the tests read its costs).
  const RemoteReader* remoteReader() const { return remote_ ? &remote_->reader() : nullptr; }
  // Tells a remote reader how far reads will go on through the file, so
  // that it may read ahead up to there (RemoteReader::readAheadUntil; 0:
  // not at all). Nothing for a local file.
  void readAheadUntil(int64_t end) {
    if (remote_) {
      remote_->reader().readAheadUntil(end);
    }
  }

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
  // -1 when unknown (always for elementary streams).
  double durationMs() const;
  // A raw elementary stream (H.264, HEVC, MPEG-1/2 video, MJPEG, ...): no
  // timestamps and no seeking but to the start; frames are timed by counting
  // them, the n-th at n * frameDuration() from the start (origin 0).
  bool lacksTimestamps() const { return lacksTimestamps_; }
  // One frame at the stream's frame rate (25 fps when unknown), in stream time base.
  int64_t frameDuration() const;

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
  // Declared before context_: FFmpeg's context, closed first, still uses it.
  std::unique_ptr<RemoteInput> remote_;
  UniqueFormatContext context_;
  AVStream* stream_ = nullptr;
  int64_t toTimestamp(double milliseconds, AVRounding rounding) const;
  void discardAllBut(int index);
  void limitProbedStreams(int index);
  static void ignoreStream(AVStream* stream);
  [[noreturn]] static void throwOversizedPicture(int64_t width, int64_t height,
                                                 int64_t limitInputPixels);
  void findOrigin();
  // A failure the remote reader kept inside an FFmpeg callback, thrown as is.
  void rethrowRemoteFailure();

  int64_t origin_ = 0;
  bool lacksTimestamps_ = false;
  bool capsStreams_ = false;  // no stream is added after the open (MPEG-TS/PS)
  int64_t refusedAt_ = -1;    // file position of the last packet refused by the cap
};

}  // namespace framesnap
