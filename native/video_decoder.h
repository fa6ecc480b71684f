// VideoDecoder: the codec context of one video stream, in the
// send-packet/receive-frame shape. One per job, not thread-safe.
#pragma once

#include <cstdint>

#include "display_geometry.h"
#include "ffmpeg_ptr.h"
#include "interruption.h"

namespace framesnap {

class Demuxer;

class VideoDecoder {
 public:
  // `interruption` is watched for the decoder's whole life.
  // threads: 0 lets FFmpeg choose (frame threads for a lone decode), 1 keeps
  // decoding on the calling thread (best when many jobs run at once).
  // The stream's stated size is checked against `limitInputPixels` first
  // (ResourceContentBad), and the decoder refuses larger pictures later on.
  VideoDecoder(const AVStream* stream, int threads, const Interruption& interruption,
               int64_t limitInputPixels = kDefaultPixelLimit);

  // Receives the next frame into `frame`, feeding packets from `demuxer` as
  // the decoder asks and draining it at end of file. False when no frame is left.
  bool decodeNextFrame(Demuxer& demuxer, AVFrame* frame);
  // Decodes one packet on its own (the decoder is drained right after it, so
  // a keyframe comes out without waiting for the packets behind it).
  bool decodeSinglePacket(const AVPacket* packet, AVFrame* frame);
  // Forgets buffered packets and frames; needed after every seek.
  void flush();
  void setSkipFrame(AVDiscard discard) { context_->skip_frame = discard; }
  // Frames whose pts is before `timestamp` and that no other frame references
  // can never be an answer, so decodeNextFrame skips decoding them. Skipping
  // them leaves every later picture bit-identical. AV_NOPTS_VALUE turns it off.
  void skipNonReferenceFramesBefore(int64_t timestamp) { skipBefore_ = timestamp; }
  // decodeNextFrame hands out keyframes only (the others are not decoded).
  void decodeKeyframesOnly(bool only) { keyframesOnly_ = only; }

 private:
  bool receive(AVFrame* frame);
  [[noreturn]] void throwDecodeFailure(const char* what, int averror) const;

  const Interruption& interruption_;
  UniqueCodecContext context_;
  UniquePacket packet_;
  bool draining_ = false;
  int64_t skipBefore_ = AV_NOPTS_VALUE;
  bool keyframesOnly_ = false;
  int64_t limitInputPixels_;
};

// The frame's presentation time: best effort, falling back to its packet's dts.
int64_t presentationTimestamp(const AVFrame* frame);

}  // namespace framesnap
