#include "video_decoder.h"

#include <string>

#include "demuxer.h"
#include "display_geometry.h"
#include "snapshot_failure.h"

namespace framesnap {

VideoDecoder::VideoDecoder(const AVStream* stream, int threads, const Interruption& interruption,
                           int64_t limitInputPixels)
    : interruption_(interruption), packet_(allocatePacket()), limitInputPixels_(limitInputPixels) {
  PixelLimits limits;
  limits.inputPixels = limitInputPixels;
  checkInputSize(stream->codecpar->width, stream->codecpar->height, limits);
  const AVCodec* codec = avcodec_find_decoder(stream->codecpar->codec_id);
  if (codec == nullptr) {
    throw SnapshotFailure(ErrorCode::ResourceContentBad,
                          std::string("no decoder for the video codec ") +
                              avcodec_get_name(stream->codecpar->codec_id));
  }
  context_.reset(avcodec_alloc_context3(codec));
  if (!context_) {
    throw SnapshotFailure(ErrorCode::Internal, "out of memory allocating a decoder");
  }
  int result = avcodec_parameters_to_context(context_.get(), stream->codecpar);
  if (result < 0) {
    throw SnapshotFailure(ErrorCode::Internal,
                          "cannot configure the decoder: " + describeAvError(result));
  }
  context_->pkt_timebase = stream->time_base;
  // A frame that grows past the limit mid-stream is refused by FFmpeg
  // before it allocates it (frame threads copy this from the context).
  context_->max_pixels = limitInputPixels;
  context_->thread_count = threads;
  context_->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  clearCapturedFfmpegLog();
  result = avcodec_open2(context_.get(), codec, nullptr);
  if (result < 0) {
    throw SnapshotFailure(
        ErrorCode::ResourceContentBad,
        std::string("cannot open the ") + codec->name + " decoder: " + describeAvError(result));
  }
}

bool VideoDecoder::receive(AVFrame* frame) {
  const int received = avcodec_receive_frame(context_.get(), frame);
  if (received == 0) {
    return true;
  }
  if (received == AVERROR(EAGAIN) || received == AVERROR_EOF) {
    return false;
  }
  throwDecodeFailure("cannot decode the video: ", received);
}

void VideoDecoder::throwDecodeFailure(const char* what, int averror) const {
  int64_t width = 0;
  int64_t height = 0;
  if (takeOversizedPicture(width, height)) {
    throw SnapshotFailure(ErrorCode::ResourceContentBad,
                          "a frame of the video is " + std::to_string(width) + "x" +
                              std::to_string(height) + ", over limitInputPixels (" +
                              std::to_string(limitInputPixels_) + ")");
  }
  throw SnapshotFailure(ErrorCode::ResourceContentBad, what + describeAvError(averror));
}

bool VideoDecoder::decodeNextFrame(Demuxer& demuxer, AVFrame* frame) {
  for (;;) {
    interruption_.throwIfRequested();
    if (receive(frame)) {
      return true;
    }
    if (draining_) {
      return false;
    }
    if (!demuxer.readVideoPacket(packet_.get())) {
      // End of file: a null packet makes the decoder hand out what it holds.
      draining_ = true;
      avcodec_send_packet(context_.get(), nullptr);
      continue;
    }
    // Per packet: the decoder reads skip_frame when it decodes this packet
    // (frame threads copy it at submission). AVDISCARD_NONREF keeps
    // referenced B-frames (x264's B-pyramid); AVDISCARD_BIDIR would not.
    const bool unwanted = skipBefore_ != AV_NOPTS_VALUE && packet_->pts != AV_NOPTS_VALUE &&
                          packet_->pts < skipBefore_;
    context_->skip_frame = keyframesOnly_ ? AVDISCARD_NONKEY
                           : unwanted     ? AVDISCARD_NONREF
                                          : AVDISCARD_DEFAULT;
    const int sent = avcodec_send_packet(context_.get(), packet_.get());
    // A damaged packet is skipped, as players and the ffmpeg CLI do; the
    // frames around it still decode.
    if (sent < 0 && sent != AVERROR_INVALIDDATA && sent != AVERROR(EAGAIN)) {
      throwDecodeFailure("cannot decode the video: ", sent);
    }
  }
}

bool VideoDecoder::decodeSinglePacket(const AVPacket* packet, AVFrame* frame) {
  flush();
  const int sent = avcodec_send_packet(context_.get(), packet);
  if (sent < 0 && sent != AVERROR_INVALIDDATA) {
    throwDecodeFailure("cannot decode the keyframe: ", sent);
  }
  avcodec_send_packet(context_.get(), nullptr);
  draining_ = true;
  const bool decoded = receive(frame);
  flush();
  return decoded;
}

void VideoDecoder::flush() {
  avcodec_flush_buffers(context_.get());
  draining_ = false;
}

int64_t presentationTimestamp(const AVFrame* frame) {
  if (frame->best_effort_timestamp != AV_NOPTS_VALUE) {
    return frame->best_effort_timestamp;
  }
  if (frame->pts != AV_NOPTS_VALUE) {
    return frame->pts;
  }
  return frame->pkt_dts;
}

}  // namespace framesnap
