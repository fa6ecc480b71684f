// The core of framesnap: an open video file that hands out decoded RGB frames
// for sorted lists of times. Runs on whatever thread calls it (the JS thread
// for the sync binding, a libuv worker for the async one); no Node-API here.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "demuxer.h"
#include "interruption.h"
#include "rgb_converter.h"
#include "video_decoder.h"

namespace framesnap {

enum class FrameType {
  Intra,   // the keyframe at or before each time
  Normal,  // the first frame whose presentation time is at or after each time
};

// SPEC section 5: a first image that is black is replaced by the first frame
// that is not, within a search window (keyframes only in Intra mode).
struct BlackFrameFilter {
  bool enabled = false;
  double blackLevelPercent = 100;  // black when more than this share of pixels is dark
  int pixelThreshold = 70;         // a pixel is dark when its 8-bit luma is below this
  double searchMs = 5000;
};

struct FrameSelection {
  std::vector<double> timesMs;  // ascending, from the file's start
  FrameType frameType = FrameType::Intra;
  int width = 0;  // 0: from the display aspect ratio or source size
  int height = 0;
  bool stopAtEnd = false;  // series: no frame for times at or past the duration
  // Skip decoding unreferenced frames before each target (Normal mode). Off
  // only to prove, in tests, that the output is identical with it on.
  bool skipNonReference = true;
  // Applied to the first time only.
  BlackFrameFilter blackFirstFrame;
  // Checked before anything is allocated for a picture. The input limit of
  // an open file is its FileIdentity's (a different one reopens the file).
  PixelLimits limits;
};

struct ExtractRequest {
  std::string path;
  int threads = 0;  // decoder threads, 0 = FFmpeg's choice
  FrameSelection selection;
};

struct ExtractedFrame {
  double requestedMs = 0;
  double timeMs = 0;  // the frame's own presentation time, from the file's start
  bool keyframe = false;
  std::shared_ptr<const RgbImage> image;  // shared when two times give one frame
};

// What makes an open file reusable: the same path, still the same file
// (device, inode, size, modification time), decoded with the same threads.
struct FileIdentity {
  std::string path;
  uint64_t device = 0;
  uint64_t inode = 0;
  int64_t size = 0;
  int64_t modifiedNs = 0;
  int threads = 0;
  // The decoder's max_pixels: no decoded picture may be larger.
  int64_t limitInputPixels = kDefaultPixelLimit;
  // Set for an http(s) URL (identifyUrl): `path` is the URL, read with these options.
  std::optional<RemoteOptions> remote;
  bool operator==(const FileIdentity& other) const {
    return path == other.path && device == other.device && inode == other.inode &&
           size == other.size && modifiedNs == other.modifiedNs && threads == other.threads &&
           limitInputPixels == other.limitInputPixels && remote == other.remote;
  }
};

// Stats `path` (following links); SnapshotFailure when it cannot be opened as
// a file: the errno's code from errorCodeForErrno (snapshot_failure.h); a
// folder or anything but a regular file -> InvalidParameter. The message
// never contains the path.
FileIdentity identifyFile(const std::string& path, int threads);
// The identity of an http(s) URL: nothing is fetched until a FrameExtractor
// opens it (a server gives no inode to tell that the file is unchanged).
FileIdentity identifyUrl(const std::string& url, const RemoteOptions& options, int threads);

// One open file, its decoder and scaler. Keeps its decoding position between
// calls, so a later call for later times decodes on instead of seeking.
// One user at a time, not thread-safe; may move between threads between calls.
class FrameExtractor {
 public:
  FrameExtractor(FileIdentity identity, const Interruption& interruption);
  ~FrameExtractor();
  FrameExtractor(const FrameExtractor&) = delete;
  FrameExtractor& operator=(const FrameExtractor&) = delete;

  const FileIdentity& identity() const { return identity_; }
  double durationMs() const;

  // One entry per time, in order. In Normal mode, times past the last frame
  // have no entry (the result is shorter than the request); in Intra mode
  // they get the last keyframe unless stopAtEnd.
  std::vector<ExtractedFrame> extract(const FrameSelection& selection,
                                      const Interruption& interruption);

 private:
  std::optional<ExtractedFrame> exactFrameAt(double timeMs);
  bool shouldSeekFor(int64_t target) const;
  bool readsOnInto(double timeMs, double nextMs) const;
  int64_t bytesNeededUntil(double timeMs) const;
  bool seekForTry(int64_t seekTarget);
  bool seekAndDecodeFirstFrame(int64_t target);
  bool decodeFirstFrameAfterSeek(bool atStart);
  int64_t nextSeekTarget(int64_t target, double& backoffMs) const;
  void acceptPending();
  ExtractedFrame pendingAsResult();
  ExtractedFrame lastKeyframeAsResult() const;
  std::optional<ExtractedFrame> keyframeAtOrBefore(double timeMs);
  bool findKeyframePacket(int64_t target);
  // Whether no keyframe of the stream lies after `dts` and at or before
  // `target`, by the index, when the index lists every keyframe (MP4/MOV); false
  // when that is not known.
  bool noKeyframeBetween(int64_t dts, int64_t target) const;
  std::optional<ExtractedFrame> countedKeyframeAtOrBefore(int64_t target);
  // The decoder's next frame into frame_, timed by counting for streams without timestamps.
  bool decodeNext();
  std::shared_ptr<const RgbImage> convertCurrentFrame();
  bool currentFrameIsBlack(const BlackFrameFilter& filter, const RgbImage& converted) const;
  ExtractedFrame replaceBlackFrame(ExtractedFrame original, double requestedMs);

  FileIdentity identity_;
  // The current call's interruption; the demuxer and decoder watch this member.
  Interruption interruption_;
  Demuxer demuxer_;
  VideoDecoder decoder_;
  RgbConverter converter_;
  UniqueFrame frame_;
  UniquePacket packet_;
  UniquePacket keyframePacket_;
  const FrameSelection* selection_ = nullptr;

  bool havePending_ = false;  // frame_ holds the first frame at or after previousTarget_
  int64_t pendingPts_ = 0;
  int64_t previousTarget_ = 0;
  bool pendingKeyframe_ = false;
  std::shared_ptr<const RgbImage> pendingImage_;

  std::shared_ptr<const RgbImage> lastKeyframeImage_;
  int64_t lastKeyframePts_ = 0;

  // Raw elementary streams (no timestamps): frames are timed by counting.
  UniqueFrame countedKeyframe_;
  UniqueFrame overshootFrame_;
  bool countFrames_ = false;
  int64_t frameDuration_ = 1;
  int64_t framesCounted_ = 0;
  bool countingValid_ = false;  // the decoder position follows countingTarget_
  int64_t countingTarget_ = 0;
  bool haveCountedKeyframe_ = false;
  bool haveOvershoot_ = false;
};

// Opens, extracts, closes: the one-shot form.
std::vector<ExtractedFrame> extractFrames(const ExtractRequest& request,
                                          const Interruption& interruption);

}  // namespace framesnap
