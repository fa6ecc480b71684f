#include "frame_extractor.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>

#include "ffmpeg_compat.h"

extern "C" {
#include <libavutil/pixdesc.h>
}

extern "C" {
#include <libavutil/mathematics.h>
}

#include "display_geometry.h"
#include "snapshot_failure.h"

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

std::string millisecondsText(double milliseconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.15g", milliseconds);
  return text;
}

int64_t packetTimestamp(const AVPacket* packet) {
  return packet->pts != AV_NOPTS_VALUE ? packet->pts : packet->dts;
}

}  // namespace

FileIdentity identifyFile(const std::string& path, int threads) {
  crashWhenTestAsks(path);
  // Messages name no path: the callers add the name their user knows.
  struct stat status {};
  if (stat(path.c_str(), &status) != 0) {
    const int error = errno;
    const ErrorCode code = errorCodeForErrno(error);
    if (error == ENAMETOOLONG) {
      throw SnapshotFailure(code, "the name is too long");
    }
    throw SnapshotFailure(code, std::string("cannot open the file: ") + std::strerror(error));
  }
  if (S_ISDIR(status.st_mode)) {
    throw SnapshotFailure(ErrorCode::InvalidParameter, "is a folder, not a file");
  }
  if (!S_ISREG(status.st_mode)) {
    throw SnapshotFailure(ErrorCode::InvalidParameter, "is not a regular file");
  }
  FileIdentity identity;
  identity.path = path;
  identity.device = static_cast<uint64_t>(status.st_dev);
  identity.inode = static_cast<uint64_t>(status.st_ino);
  identity.size = static_cast<int64_t>(status.st_size);
  identity.modifiedNs =
      static_cast<int64_t>(status.st_mtim.tv_sec) * 1000000000 + status.st_mtim.tv_nsec;
  identity.threads = threads;
  return identity;
}

FileIdentity identifyUrl(const std::string& url, const RemoteOptions& options, int threads) {
  FileIdentity identity;
  identity.path = url;
  identity.threads = threads;
  identity.remote = options;
  return identity;
}

FrameExtractor::FrameExtractor(FileIdentity identity, const Interruption& interruption)
    : identity_(std::move(identity)),
      interruption_(interruption),
      demuxer_(identity_.path, interruption_, false, identity_.limitInputPixels,
               identity_.remote ? &*identity_.remote : nullptr),
      decoder_(demuxer_.stream(), identity_.threads, interruption_, identity_.limitInputPixels),
      converter_(clockwiseRotation(demuxer_.stream())),
      frame_(allocateFrame()),
      packet_(allocatePacket()),
      keyframePacket_(allocatePacket()),
      countedKeyframe_(allocateFrame()),
      overshootFrame_(allocateFrame()),
      countFrames_(demuxer_.lacksTimestamps()),
      frameDuration_(demuxer_.frameDuration()) {}

FrameExtractor::~FrameExtractor() = default;

double FrameExtractor::durationMs() const { return demuxer_.durationMs(); }

std::vector<ExtractedFrame> FrameExtractor::extract(const FrameSelection& selection,
                                                    const Interruption& interruption) {
  interruption_ = interruption;
  // The sizes the stream states, checked before anything is decoded or
  // allocated for it; each decoded frame is checked again (RgbConverter).
  const AVCodecParameters* parameters = demuxer_.stream()->codecpar;
  checkInputSize(parameters->width, parameters->height, selection.limits);
  const Size display =
      displaySize(parameters->width, parameters->height,
                  av_guess_sample_aspect_ratio(demuxer_.context(), demuxer_.stream(), nullptr),
                  clockwiseRotation(demuxer_.stream()));
  checkOutputSize(outputSize(display, selection.width, selection.height),
                  selection.width > 0 || selection.height > 0, selection.limits);
  selection_ = &selection;
  countingValid_ = false;
  // Images are per call (the size may differ); decoded frames carry over.
  pendingImage_.reset();
  lastKeyframeImage_.reset();
  const double endMs = selection.stopAtEnd ? demuxer_.durationMs() : -1;
  std::vector<ExtractedFrame> frames;
  frames.reserve(selection.timesMs.size());
  const std::vector<double>& times = selection.timesMs;
  size_t nextRun = 0;  // where the next run of times starts
  size_t runEnd = 0;
  bool runReadsAhead = false;
  demuxer_.readAheadUntil(0);
  for (size_t i = 0; i < times.size(); ++i) {
    const double timeMs = times[i];
    interruption_.throwIfRequested();
    if (endMs >= 0 && timeMs >= endMs) {
      break;
    }
    if (selection.frameType == FrameType::Normal && i == nextRun) {
      // Reads for a run of times whose decodes read on, one into the next (a
      // dense series, or one time), go on through the file to where the
      // run's last frame is: a remote input may read ahead up to there, in
      // fewer and larger requests, and no further. Without an index that
      // place is unknown: read ahead only while another time follows.
      runEnd = i;
      while (runEnd + 1 < times.size() && readsOnInto(times[runEnd], times[runEnd + 1])) {
        ++runEnd;
      }
      nextRun = runEnd + 1;
      const int64_t end = bytesNeededUntil(times[runEnd]);
      runReadsAhead = end < 0 && runEnd > i;
      demuxer_.readAheadUntil(std::max<int64_t>(end, 0));
    }
    if (runReadsAhead && i == runEnd) {
      demuxer_.readAheadUntil(0);  // the run's last frame: its end is unknown
    } else if (runReadsAhead) {
      demuxer_.readAheadUntil(std::numeric_limits<int64_t>::max());
    }
    std::optional<ExtractedFrame> extracted =
        selection.frameType == FrameType::Intra ? keyframeAtOrBefore(timeMs) : exactFrameAt(timeMs);
    if (!extracted) {
      break;  // past the end: no later time can have a frame either
    }
    extracted->requestedMs = timeMs;
    if (frames.empty() && selection.blackFirstFrame.enabled &&
        currentFrameIsBlack(selection.blackFirstFrame, *extracted->image)) {
      extracted = replaceBlackFrame(std::move(*extracted), timeMs);
    }
    frames.push_back(std::move(*extracted));
  }
  demuxer_.readAheadUntil(0);
  selection_ = nullptr;
  return frames;
}

bool FrameExtractor::currentFrameIsBlack(const BlackFrameFilter& filter,
                                         const RgbImage& converted) const {
  const AVFrame* frame = frame_.get();
  const AVPixFmtDescriptor* descriptor =
      av_pix_fmt_desc_get(static_cast<AVPixelFormat>(frame->format));
  int64_t dark = 0;
  int64_t total = 0;
  const bool lumaPlane = descriptor != nullptr &&
                         (descriptor->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL)) == 0 &&
                         descriptor->comp[0].plane == 0 &&
                         descriptor->comp[0].step == (descriptor->comp[0].depth > 8 ? 2 : 1);
  if (lumaPlane) {
    // The decoded luma as stored: no conversion for the measurement.
    const int shift = descriptor->comp[0].depth - 8;
    const int threshold = filter.pixelThreshold << shift;
    for (int y = 0; y < frame->height; ++y) {
      const uint8_t* row = frame->data[0] + static_cast<ptrdiff_t>(y) * frame->linesize[0];
      for (int x = 0; x < frame->width; ++x) {
        const int luma = shift > 0 ? reinterpret_cast<const uint16_t*>(row)[x] : row[x];
        dark += luma < threshold ? 1 : 0;
      }
    }
    total = static_cast<int64_t>(frame->width) * frame->height;
  } else {
    // RGB or packed sources: BT.601 luma of the converted picture.
    const std::vector<uint8_t>& pixels = converted.pixels;
    for (size_t i = 0; i + 2 < pixels.size(); i += 3) {
      const int luma = (299 * pixels[i] + 587 * pixels[i + 1] + 114 * pixels[i + 2]) / 1000;
      dark += luma < filter.pixelThreshold ? 1 : 0;
    }
    total = static_cast<int64_t>(pixels.size() / 3);
  }
  if (total == 0) {
    return false;
  }
  return dark == total ||
         static_cast<double>(dark) * 100.0 / static_cast<double>(total) > filter.blackLevelPercent;
}

ExtractedFrame FrameExtractor::replaceBlackFrame(ExtractedFrame original, double requestedMs) {
  const BlackFrameFilter& filter = selection_->blackFirstFrame;
  const int64_t limit = demuxer_.lastTimestampAtOrBefore(requestedMs + filter.searchMs);
  const bool keyframesOnly = selection_->frameType == FrameType::Intra;
  if (keyframesOnly) {
    // Decode on from the black keyframe, keyframes only (a stream without
    // timestamps decodes every frame from its start, to count them).
    if (countFrames_) {
      seekForTry(demuxer_.originTimestamp());
    } else {
      demuxer_.seekToKeyframeBefore(lastKeyframePts_);
    }
    decoder_.flush();
  }
  countingValid_ = false;
  decoder_.decodeKeyframesOnly(keyframesOnly && !countFrames_);
  std::optional<ExtractedFrame> replacement;
  const int64_t originalPts = keyframesOnly ? lastKeyframePts_ : pendingPts_;
  while (decodeNext()) {
    const int64_t pts = presentationTimestamp(frame_.get());
    if (pts > limit) {
      break;
    }
    if (pts <= originalPts || (keyframesOnly && !compat::isKeyFrame(frame_.get()))) {
      continue;
    }
    std::shared_ptr<const RgbImage> image = convertCurrentFrame();
    if (!currentFrameIsBlack(filter, *image)) {
      replacement = ExtractedFrame{requestedMs, demuxer_.toMilliseconds(pts),
                                   compat::isKeyFrame(frame_.get()), std::move(image)};
      break;
    }
  }
  decoder_.decodeKeyframesOnly(false);
  // The decoder has moved on: the next time seeks afresh.
  havePending_ = false;
  return replacement ? std::move(*replacement) : std::move(original);
}

std::shared_ptr<const RgbImage> FrameExtractor::convertCurrentFrame() {
  return converter_.convert(frame_.get(), demuxer_.stream()->sample_aspect_ratio, selection_->width,
                            selection_->height, selection_->limits, &interruption_);
}

bool FrameExtractor::decodeNext() {
  if (!decoder_.decodeNextFrame(demuxer_, frame_.get())) {
    return false;
  }
  if (countFrames_) {
    // Frames come out in presentation order: the n-th is at n frame durations.
    frame_->best_effort_timestamp = demuxer_.originTimestamp() + framesCounted_ * frameDuration_;
    ++framesCounted_;
  }
  return true;
}

// ---- Normal mode -------------------------------------------------------

std::optional<ExtractedFrame> FrameExtractor::exactFrameAt(double timeMs) {
  const int64_t target = demuxer_.firstTimestampAtOrAfter(timeMs);
  // The pending frame is the first at or after the previous target, so it
  // answers any later target it is not before; an earlier one needs a seek.
  const bool pendingAnswers = havePending_ && target >= previousTarget_;
  previousTarget_ = target;
  countingValid_ = false;
  // Counted frames must all come out of the decoder: none is skipped.
  decoder_.skipNonReferenceFramesBefore(
      selection_->skipNonReference && !countFrames_ ? target : AV_NOPTS_VALUE);
  if (!pendingAnswers || shouldSeekFor(target)) {
    if (!seekAndDecodeFirstFrame(target)) {
      return std::nullopt;
    }
  }
  // Frames come out in presentation order; the first at or after the
  // target is the answer. It stays pending: the next time may want it too.
  while (pendingPts_ < target) {
    interruption_.throwIfRequested();
    if (!decodeNext()) {
      havePending_ = false;
      return std::nullopt;
    }
    acceptPending();
  }
  return pendingAsResult();
}

bool FrameExtractor::shouldSeekFor(int64_t target) const {
  if (target <= pendingPts_ || countFrames_) {
    return false;  // without timestamps a seek goes back to the start: decode on instead
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

// Whether the decode for `timeMs` reads on into that for `nextMs`, the next
// time of a series: the next frame is in the same GOP or the one right after
// (or, without an index, within the distance decoded forward), so no bytes in
// between are skipped. Raw streams always decode forward.
bool FrameExtractor::readsOnInto(double timeMs, double nextMs) const {
  if (countFrames_) {
    return true;
  }
  const int64_t target = demuxer_.firstTimestampAtOrAfter(timeMs);
  const int64_t next = demuxer_.firstTimestampAtOrAfter(nextMs);
  AVStream* stream = demuxer_.stream();
  if (avformat_index_get_entries_count(stream) > 0) {
    const AVIndexEntry* nextKeyframe =
        avformat_index_get_entry_from_timestamp(stream, next, AVSEEK_FLAG_BACKWARD);
    const AVIndexEntry* followingKeyframe =
        avformat_index_get_entry_from_timestamp(stream, target + 1, 0);
    return nextKeyframe == nullptr || followingKeyframe == nullptr ||
           nextKeyframe->timestamp <= followingKeyframe->timestamp;
  }
  return demuxer_.toMilliseconds(next) - demuxer_.toMilliseconds(target) <=
         kForwardDecodeWithoutIndexMs;
}

// The file position before which the decode for `timeMs` finds its frame,
// from the index: the end of the first packet at or after the time and of a
// few after it (frames decoded out of order, other streams' packets in
// between). -1 without an index. A hint for reading ahead, not a limit.
int64_t FrameExtractor::bytesNeededUntil(double timeMs) const {
  AVStream* stream = demuxer_.stream();
  const int entries = avformat_index_get_entries_count(stream);
  if (entries <= 0) {
    return -1;
  }
  int found =
      av_index_search_timestamp(stream, demuxer_.firstTimestampAtOrAfter(timeMs), AVSEEK_FLAG_ANY);
  if (found < 0) {
    found = entries - 1;  // past the last entry: the end of the last one
  }
  const int last = std::min(entries - 1, found + stream->codecpar->video_delay + 4);
  int64_t end = 0;
  for (int i = found; i <= last; ++i) {
    const AVIndexEntry* entry = avformat_index_get_entry(stream, i);
    if (entry != nullptr && entry->pos >= 0) {
      end = std::max(end, entry->pos + entry->size);
    }
  }
  return end > 0 ? end : -1;
}

// One try of a backoff loop: seeks to the keyframe before `seekTarget`, or to
// the start of the file when that is where it is. Returns whether at the start.
bool FrameExtractor::seekForTry(int64_t seekTarget) {
  // Without timestamps the only known position is the start.
  const bool atStart = countFrames_ || seekTarget <= demuxer_.originTimestamp();
  if (atStart) {
    demuxer_.seekToStart();
    framesCounted_ = 0;
  } else {
    demuxer_.seekToKeyframeBefore(seekTarget);
  }
  return atStart;
}

// Seeks so that the first decoded frame is at or before the target, backing
// off when the container lands late (dts-based seeks in MPEG-TS, B-frames).
bool FrameExtractor::seekAndDecodeFirstFrame(int64_t target) {
  double backoffMs = kFirstSeekBackoffMs;
  int64_t seekTarget = target;
  for (;;) {
    const bool atStart = seekForTry(seekTarget);
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
bool FrameExtractor::decodeFirstFrameAfterSeek(bool atStart) {
  for (int skipped = 0;; ++skipped) {
    interruption_.throwIfRequested();
    if (!decodeNext()) {
      return false;
    }
    if (atStart || compat::isKeyFrame(frame_.get()) || skipped >= kMaxFramesBeforeKeyframe) {
      return true;
    }
  }
}

int64_t FrameExtractor::nextSeekTarget(int64_t target, double& backoffMs) const {
  if (backoffMs > kLastSeekBackoffMs) {
    return demuxer_.originTimestamp();
  }
  const int64_t next =
      demuxer_.lastTimestampAtOrBefore(demuxer_.toMilliseconds(target) - backoffMs);
  backoffMs *= 2;
  return next;
}

void FrameExtractor::acceptPending() {
  pendingPts_ = presentationTimestamp(frame_.get());
  pendingKeyframe_ = compat::isKeyFrame(frame_.get());
  pendingImage_.reset();
  havePending_ = true;
}

ExtractedFrame FrameExtractor::pendingAsResult() {
  if (!pendingImage_) {
    pendingImage_ = convertCurrentFrame();
  }
  ExtractedFrame result;
  result.timeMs = demuxer_.toMilliseconds(pendingPts_);
  result.keyframe = pendingKeyframe_;
  result.image = pendingImage_;
  return result;
}

// ---- Intra mode --------------------------------------------------------

std::optional<ExtractedFrame> FrameExtractor::keyframeAtOrBefore(double timeMs) {
  const int64_t target = demuxer_.lastTimestampAtOrBefore(timeMs);
  if (countFrames_) {
    return countedKeyframeAtOrBefore(target);
  }
  if (!findKeyframePacket(target)) {
    return std::nullopt;
  }
  const int64_t keyframePts = packetTimestamp(keyframePacket_.get());
  if (!lastKeyframeImage_ || keyframePts != lastKeyframePts_) {
    decoder_.setSkipFrame(AVDISCARD_NONKEY);
    const bool decoded = decoder_.decodeSinglePacket(keyframePacket_.get(), frame_.get());
    decoder_.setSkipFrame(AVDISCARD_DEFAULT);
    if (!decoded) {
      throw SnapshotFailure(
          ErrorCode::ResourceContentBad,
          "the keyframe at or before " + millisecondsText(timeMs) + " ms does not decode");
    }
    lastKeyframeImage_ = convertCurrentFrame();
    lastKeyframePts_ = keyframePts;
  }
  havePending_ = false;
  return lastKeyframeAsResult();
}

ExtractedFrame FrameExtractor::lastKeyframeAsResult() const {
  ExtractedFrame result;
  result.timeMs = demuxer_.toMilliseconds(lastKeyframePts_);
  result.keyframe = true;
  result.image = lastKeyframeImage_;
  return result;
}

// Streams without timestamps: decodes from the start (or on from the
// previous, earlier target), counting frames, and keeps the last keyframe at
// or before the target. The frame decoded past the target is kept for the
// next, later target.
std::optional<ExtractedFrame> FrameExtractor::countedKeyframeAtOrBefore(int64_t target) {
  havePending_ = false;
  if (!countingValid_ || target < countingTarget_) {
    seekForTry(demuxer_.originTimestamp());
    decoder_.flush();
    decoder_.decodeKeyframesOnly(false);
    decoder_.skipNonReferenceFramesBefore(AV_NOPTS_VALUE);
    countingValid_ = true;
    haveCountedKeyframe_ = false;
    haveOvershoot_ = false;
  }
  countingTarget_ = target;
  for (;;) {
    interruption_.throwIfRequested();
    if (haveOvershoot_) {
      if (presentationTimestamp(overshootFrame_.get()) > target) {
        break;
      }
      av_frame_unref(frame_.get());
      av_frame_move_ref(frame_.get(), overshootFrame_.get());
      haveOvershoot_ = false;
    } else if (!decodeNext()) {
      break;
    }
    const int64_t pts = presentationTimestamp(frame_.get());
    if (pts > target) {
      av_frame_unref(overshootFrame_.get());
      av_frame_move_ref(overshootFrame_.get(), frame_.get());
      haveOvershoot_ = true;
      break;
    }
    if (compat::isKeyFrame(frame_.get())) {
      av_frame_unref(countedKeyframe_.get());
      if (av_frame_ref(countedKeyframe_.get(), frame_.get()) < 0) {
        throw SnapshotFailure(ErrorCode::Internal, "out of memory keeping a keyframe");
      }
      haveCountedKeyframe_ = true;
    }
  }
  if (!haveCountedKeyframe_) {
    throw SnapshotFailure(ErrorCode::ResourceContentBad, "the video has no keyframe");
  }
  // frame_ is the keyframe again, for the black-frame check.
  av_frame_unref(frame_.get());
  if (av_frame_ref(frame_.get(), countedKeyframe_.get()) < 0) {
    throw SnapshotFailure(ErrorCode::Internal, "out of memory keeping a keyframe");
  }
  const int64_t keyframePts = presentationTimestamp(frame_.get());
  if (!lastKeyframeImage_ || keyframePts != lastKeyframePts_) {
    lastKeyframeImage_ = convertCurrentFrame();
    lastKeyframePts_ = keyframePts;
  }
  return lastKeyframeAsResult();
}

// Leaves in keyframePacket_ the last keyframe whose pts is at or before the
// target. Reads on after the first candidate until a packet's dts passes the
// target: no later packet can be a keyframe at or before it (pts >= dts).
bool FrameExtractor::findKeyframePacket(int64_t target) {
  double backoffMs = kFirstSeekBackoffMs;
  int64_t seekTarget = target;
  for (;;) {
    const bool atStart = seekForTry(seekTarget);
    bool found = false;
    while (demuxer_.readVideoPacket(packet_.get())) {
      const int64_t dts = packet_->dts != AV_NOPTS_VALUE ? packet_->dts : packet_->pts;
      // A keyframe without any timestamp cannot be placed: not a candidate
      // (found by the fuzzer: its AV_NOPTS_VALUE counted as "before" any time).
      if ((packet_->flags & AV_PKT_FLAG_KEY) != 0 &&
          packetTimestamp(packet_.get()) != AV_NOPTS_VALUE) {
        const int64_t pts = packetTimestamp(packet_.get());
        if (pts <= target || (!found && atStart)) {
          av_packet_unref(keyframePacket_.get());
          av_packet_ref(keyframePacket_.get(), packet_.get());
          found = true;
          // The index says no later keyframe is a candidate: the GOP's other
          // packets need not be read (over a URL, most of a GOP's bytes).
          if (dts != AV_NOPTS_VALUE && noKeyframeBetween(dts, target)) {
            break;
          }
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

bool FrameExtractor::noKeyframeBetween(int64_t dts, int64_t target) const {
  // MP4/MOV index every sample; Matroska's cues, for one, list only some keyframes.
  const AVFormatContext* context = demuxer_.context();
  if (context->iformat == nullptr || std::strncmp(context->iformat->name, "mov,", 4) != 0) {
    return false;
  }
  AVStream* stream = demuxer_.stream();
  if (avformat_index_get_entries_count(stream) <= 0) {
    return false;
  }
  // The first keyframe entry at or after dts + 1 (its dts: a frame's pts is
  // never before its dts, so one past the target is no candidate).
  const AVIndexEntry* next = avformat_index_get_entry_from_timestamp(stream, dts + 1, 0);
  return next == nullptr || next->timestamp > target;
}

std::vector<ExtractedFrame> extractFrames(const ExtractRequest& request,
                                          const Interruption& interruption) {
  installFfmpegLogCapture();
  FileIdentity identity = identifyFile(request.path, request.threads);
  identity.limitInputPixels = request.selection.limits.inputPixels;
  FrameExtractor extractor(std::move(identity), interruption);
  return extractor.extract(request.selection, interruption);
}

}  // namespace framesnap
