#include "frame_extractor.h"

#include <algorithm>
#include <optional>

extern "C" {
#include <libavutil/mathematics.h>
}

#include "demuxer.h"
#include "display_geometry.h"
#include "snapshot_failure.h"
#include "video_decoder.h"

namespace framesnap {
namespace {

// Without a seek index (MPEG-TS, raw streams) a seek costs a search and a
// decode from the keyframe; decoding forward is cheaper for gaps below this.
constexpr double kForwardDecodeWithoutIndexMs = 3000;
// When a seek lands after its target, retry this much earlier, doubling.
constexpr double kFirstSeekBackoffMs = 1000;
constexpr double kLastSeekBackoffMs = 64000;
// Streams without keyframe flags (intra refresh) are trusted after this many frames.
constexpr int kMaxFramesBeforeKeyframe = 600;

class FrameExtractor {
 public:
  FrameExtractor(const ExtractRequest& request, const Interruption& interruption)
      : request_(request),
        interruption_(interruption),
        demuxer_(request.path, interruption, false),
        decoder_(demuxer_.stream(), request.threads, interruption),
        converter_(clockwiseRotation(demuxer_.stream()), request.width, request.height),
        frame_(allocateFrame()),
        packet_(allocatePacket()),
        keyframePacket_(allocatePacket()) {}

  std::vector<ExtractedFrame> run() {
    std::vector<ExtractedFrame> frames;
    frames.reserve(request_.timesMs.size());
    for (const double timeMs : request_.timesMs) {
      interruption_.throwIfRequested();
      std::optional<ExtractedFrame> extracted = request_.frameType == FrameType::Intra
                                                    ? keyframeAtOrBefore(timeMs)
                                                    : exactFrameAt(timeMs);
      if (!extracted) {
        break;  // past the end: no later time can have a frame either
      }
      extracted->requestedMs = timeMs;
      frames.push_back(std::move(*extracted));
    }
    return frames;
  }

 private:
  // ---- Normal mode -------------------------------------------------------

  std::optional<ExtractedFrame> exactFrameAt(double timeMs) {
    const int64_t target = demuxer_.toTimestamp(timeMs);
    if (!havePending_ || shouldSeekFor(target)) {
      if (!seekAndDecodeFirstFrame(target)) {
        return std::nullopt;
      }
    }
    // Frames come out in presentation order; the first at or after the
    // target is the answer. It stays pending: the next time may want it too.
    while (pendingPts_ < target) {
      if (!decoder_.decodeNextFrame(demuxer_, frame_.get())) {
        havePending_ = false;
        return std::nullopt;
      }
      acceptPending();
    }
    return pendingAsResult();
  }

  bool shouldSeekFor(int64_t target) const {
    if (target <= pendingPts_) {
      return false;
    }
    AVStream* stream = demuxer_.stream();
    const int entries = avformat_index_get_entries_count(stream);
    if (entries > 0) {
      // Seek only when the target's keyframe lies ahead of what was decoded.
      const AVIndexEntry* keyframe =
          avformat_index_get_entry_from_timestamp(stream, target, AVSEEK_FLAG_BACKWARD);
      return keyframe != nullptr && keyframe->timestamp > pendingPts_;
    }
    return demuxer_.toMilliseconds(target) - demuxer_.toMilliseconds(pendingPts_) >
           kForwardDecodeWithoutIndexMs;
  }

  // Seeks so that the first decoded frame is at or before the target, backing
  // off when the container lands late (dts-based seeks in MPEG-TS, B-frames).
  bool seekAndDecodeFirstFrame(int64_t target) {
    const int64_t origin = demuxer_.originTimestamp();
    double backoffMs = kFirstSeekBackoffMs;
    int64_t seekTarget = target;
    for (;;) {
      const bool atStart = seekTarget <= origin;
      demuxer_.seekToKeyframeBefore(atStart ? origin : seekTarget);
      decoder_.flush();
      if (decodeFirstFrameAfterSeek(atStart)) {
        acceptPending();
        if (pendingPts_ <= target || atStart) {
          return true;
        }
      } else if (atStart) {
        throw SnapshotFailure(ErrorCode::ResourceContentBad, "no frame of the video decodes");
      }
      seekTarget = nextSeekTarget(target, backoffMs);
    }
  }

  // After a seek the demuxer may sit on a frame that needs references from
  // before it (MPEG-TS seeks are not keyframe-exact, open GOPs lead with such
  // frames): what the decoder outputs before the first keyframe is not trusted.
  bool decodeFirstFrameAfterSeek(bool atStart) {
    for (int skipped = 0;; ++skipped) {
      if (!decoder_.decodeNextFrame(demuxer_, frame_.get())) {
        return false;
      }
      if (atStart || frame_->key_frame != 0 || skipped >= kMaxFramesBeforeKeyframe) {
        return true;
      }
    }
  }

  int64_t nextSeekTarget(int64_t target, double& backoffMs) const {
    if (backoffMs > kLastSeekBackoffMs) {
      return demuxer_.originTimestamp();
    }
    const int64_t next = demuxer_.toTimestamp(demuxer_.toMilliseconds(target) - backoffMs);
    backoffMs *= 2;
    return next;
  }

  void acceptPending() {
    pendingPts_ = presentationTimestamp(frame_.get());
    pendingKeyframe_ = frame_->key_frame != 0;
    pendingImage_.reset();
    havePending_ = true;
  }

  ExtractedFrame pendingAsResult() {
    if (!pendingImage_) {
      pendingImage_ = converter_.convert(frame_.get(), demuxer_.stream()->sample_aspect_ratio);
    }
    ExtractedFrame result;
    result.timeMs = demuxer_.toMilliseconds(pendingPts_);
    result.keyframe = pendingKeyframe_;
    result.image = pendingImage_;
    return result;
  }

  // ---- Intra mode --------------------------------------------------------

  std::optional<ExtractedFrame> keyframeAtOrBefore(double timeMs) {
    const int64_t target = demuxer_.toTimestamp(timeMs);
    if (!findKeyframePacket(target)) {
      return std::nullopt;
    }
    const int64_t keyframePts = packetTimestamp(keyframePacket_.get());
    if (!lastKeyframeImage_ || keyframePts != lastKeyframePts_) {
      decoder_.setSkipFrame(AVDISCARD_NONKEY);
      const bool decoded = decoder_.decodeSinglePacket(keyframePacket_.get(), frame_.get());
      decoder_.setSkipFrame(AVDISCARD_DEFAULT);
      if (!decoded) {
        throw SnapshotFailure(ErrorCode::ResourceContentBad,
                              "the keyframe before " + std::to_string(timeMs) +
                                  " ms does not decode");
      }
      lastKeyframeImage_ = converter_.convert(frame_.get(), demuxer_.stream()->sample_aspect_ratio);
      lastKeyframePts_ = keyframePts;
    }
    ExtractedFrame result;
    result.timeMs = demuxer_.toMilliseconds(lastKeyframePts_);
    result.keyframe = true;
    result.image = lastKeyframeImage_;
    havePending_ = false;
    return result;
  }

  static int64_t packetTimestamp(const AVPacket* packet) {
    return packet->pts != AV_NOPTS_VALUE ? packet->pts : packet->dts;
  }

  // Leaves in keyframePacket_ the last keyframe whose pts is at or before the
  // target. Reads on after the first candidate until a packet's dts passes the
  // target: no later packet can be a keyframe at or before it (pts >= dts).
  bool findKeyframePacket(int64_t target) {
    const int64_t origin = demuxer_.originTimestamp();
    double backoffMs = kFirstSeekBackoffMs;
    int64_t seekTarget = target;
    for (;;) {
      const bool atStart = seekTarget <= origin;
      demuxer_.seekToKeyframeBefore(atStart ? origin : seekTarget);
      bool found = false;
      while (demuxer_.readVideoPacket(packet_.get())) {
        const int64_t dts = packet_->dts != AV_NOPTS_VALUE ? packet_->dts : packet_->pts;
        if ((packet_->flags & AV_PKT_FLAG_KEY) != 0) {
          const int64_t pts = packetTimestamp(packet_.get());
          if (pts <= target || (!found && atStart)) {
            av_packet_unref(keyframePacket_.get());
            av_packet_ref(keyframePacket_.get(), packet_.get());
            found = true;
          } else if (!found) {
            break;  // landed after the target: back off
          }
          if (pts > target) {
            break;
          }
        }
        if (found && dts != AV_NOPTS_VALUE && dts > target) {
          break;
        }
      }
      if (found) {
        return true;
      }
      if (atStart) {
        throw SnapshotFailure(ErrorCode::ResourceContentBad, "the video has no keyframe");
      }
      seekTarget = nextSeekTarget(target, backoffMs);
    }
  }

  const ExtractRequest& request_;
  const Interruption& interruption_;
  Demuxer demuxer_;
  VideoDecoder decoder_;
  RgbConverter converter_;
  UniqueFrame frame_;
  UniquePacket packet_;
  UniquePacket keyframePacket_;

  bool havePending_ = false;
  int64_t pendingPts_ = 0;
  bool pendingKeyframe_ = false;
  std::shared_ptr<const RgbImage> pendingImage_;

  std::shared_ptr<const RgbImage> lastKeyframeImage_;
  int64_t lastKeyframePts_ = 0;
};

}  // namespace

std::vector<ExtractedFrame> extractFrames(const ExtractRequest& request,
                                          const Interruption& interruption) {
  installFfmpegLogCapture();
  FrameExtractor extractor(request, interruption);
  return extractor.run();
}

}  // namespace framesnap
