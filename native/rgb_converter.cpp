#include "rgb_converter.h"

#include <algorithm>
#include <cstring>
#include <string>

extern "C" {
#include <libavutil/pixdesc.h>
}

#include "av_enums.h"
#include "snapshot_failure.h"

namespace framesnap {
namespace {

// The yuvj* formats are the yuv* ones in full range; swscale wants the plain
// format plus an explicit range.
AVPixelFormat withoutJpegAlias(AVPixelFormat format, bool& fullRange) {
  switch (format) {
    case AV_PIX_FMT_YUVJ420P:
      fullRange = true;
      return AV_PIX_FMT_YUV420P;
    case AV_PIX_FMT_YUVJ422P:
      fullRange = true;
      return AV_PIX_FMT_YUV422P;
    case AV_PIX_FMT_YUVJ444P:
      fullRange = true;
      return AV_PIX_FMT_YUV444P;
    case AV_PIX_FMT_YUVJ440P:
      fullRange = true;
      return AV_PIX_FMT_YUV440P;
    case AV_PIX_FMT_YUVJ411P:
      fullRange = true;
      return AV_PIX_FMT_YUV411P;
    default:
      return format;
  }
}

// swscale's colour matrix for the frame; untagged video is guessed as players
// do: BT.709 for HD, BT.601 for SD.
int swscaleColorspace(const AVFrame* frame) {
  switch (rawEnumValue(frame->colorspace)) {
    case AVCOL_SPC_BT709:
      return SWS_CS_ITU709;
    case AVCOL_SPC_FCC:
      return SWS_CS_FCC;
    case AVCOL_SPC_BT470BG:
    case AVCOL_SPC_SMPTE170M:
      return SWS_CS_ITU601;
    case AVCOL_SPC_SMPTE240M:
      return SWS_CS_SMPTE240M;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL:
      return SWS_CS_BT2020;
    default:
      return (frame->width >= 1280 || frame->height > 576) ? SWS_CS_ITU709 : SWS_CS_ITU601;
  }
}

void rotateInto(const RgbImage& source, int rotation, RgbImage& target,
                const Interruption* interruption) {
  const int width = source.width;
  const int height = source.height;
  target.width = rotation == 180 ? width : height;
  target.height = rotation == 180 ? height : width;
  target.pixels.resize(source.pixels.size());
  const uint8_t* from = source.pixels.data();
  uint8_t* to = target.pixels.data();
  for (int y = 0; y < height; ++y) {
    if (interruption != nullptr && y % 256 == 0) {
      interruption->throwIfRequested();
    }
    for (int x = 0; x < width; ++x) {
      int targetX = 0;
      int targetY = 0;
      if (rotation == 90) {
        targetX = height - 1 - y;
        targetY = x;
      } else if (rotation == 180) {
        targetX = width - 1 - x;
        targetY = height - 1 - y;
      } else {
        targetX = y;
        targetY = width - 1 - x;
      }
      std::memcpy(to + (static_cast<size_t>(targetY) * target.width + targetX) * 3,
                  from + (static_cast<size_t>(y) * width + x) * 3, 3);
    }
  }
}

}  // namespace

RgbConverter::RgbConverter(int rotation) : rotation_(rotation) {}

std::shared_ptr<RgbImage> RgbConverter::convert(const AVFrame* frame,
                                                AVRational streamSampleAspectRatio,
                                                int requestedWidth, int requestedHeight,
                                                const PixelLimits& limits,
                                                const Interruption* interruption) {
  const AVRational sampleAspectRatio =
      frame->sample_aspect_ratio.num > 0 ? frame->sample_aspect_ratio : streamSampleAspectRatio;
  // Every size checked before the scaler or the picture is allocated.
  checkInputSize(frame->width, frame->height, limits);
  const Size display = displaySize(frame->width, frame->height, sampleAspectRatio, rotation_);
  const Size output = outputSize(display, requestedWidth, requestedHeight);
  checkOutputSize(output, requestedWidth > 0 || requestedHeight > 0, limits);
  const bool quarterTurn = rotation_ == 90 || rotation_ == 270;
  const Size scaled = quarterTurn ? Size{output.height, output.width} : output;

  bool fullRange = rawEnumValue(frame->color_range) == AVCOL_RANGE_JPEG;
  const AVPixelFormat sourceFormat =
      withoutJpegAlias(static_cast<AVPixelFormat>(frame->format), fullRange);
  scaler_.reset(sws_getCachedContext(
      scaler_.release(), frame->width, frame->height, sourceFormat, static_cast<int>(scaled.width),
      static_cast<int>(scaled.height), AV_PIX_FMT_RGB24, SWS_BICUBIC, nullptr, nullptr, nullptr));
  if (!scaler_) {
    throw SnapshotFailure(
        ErrorCode::ResourceContentBad,
        std::string("cannot convert pixel format ") +
            (av_get_pix_fmt_name(sourceFormat) ? av_get_pix_fmt_name(sourceFormat) : "unknown") +
            " to RGB");
  }
  const AVPixFmtDescriptor* descriptor = av_pix_fmt_desc_get(sourceFormat);
  if (descriptor != nullptr && (descriptor->flags & AV_PIX_FMT_FLAG_RGB) == 0) {
    const int* coefficients = sws_getCoefficients(swscaleColorspace(frame));
    const int* rgbCoefficients = sws_getCoefficients(SWS_CS_DEFAULT);
    sws_setColorspaceDetails(scaler_.get(), coefficients, fullRange ? 1 : 0, rgbCoefficients, 1, 0,
                             1 << 16, 1 << 16);
  }

  auto image = std::make_shared<RgbImage>();
  image->width = static_cast<int>(scaled.width);
  image->height = static_cast<int>(scaled.height);
  const size_t stride = static_cast<size_t>(scaled.width) * 3;
  // swscale's vector code may write a little past the last row.
  image->pixels.resize(stride * static_cast<size_t>(scaled.height) + 64);
  // The whole picture goes to swscale at once and comes out in slices of
  // output rows, so that a deadline or an abort is honoured within a few
  // milliseconds even for the largest pictures (a full 8192x8192 conversion
  // takes about a second). (Slicing the input instead crashes FFmpeg 5.1's
  // swscale on some extreme downscales: a fuzzer finding.) swscale keeps
  // references to both frames until sws_frame_end; the destination wraps
  // image->pixels, which outlives them.
  UniqueFrame destination = allocateFrame();
  destination->format = AV_PIX_FMT_RGB24;
  destination->width = static_cast<int>(scaled.width);
  destination->height = static_cast<int>(scaled.height);
  destination->data[0] = image->pixels.data();
  destination->linesize[0] = static_cast<int>(stride);
  destination->buf[0] = av_buffer_create(
      image->pixels.data(), image->pixels.size(), [](void*, uint8_t*) {}, nullptr, 0);
  if (destination->buf[0] == nullptr) {
    throw SnapshotFailure(ErrorCode::Internal, "out of memory converting a picture");
  }
  struct FrameScope {
    SwsContext* scaler;
    ~FrameScope() { sws_frame_end(scaler); }
  };
  int rows = 0;
  try {
    const FrameScope scope{scaler_.get()};
    const int started = sws_frame_start(scaler_.get(), destination.get(), frame);
    if (started < 0) {
      throw SnapshotFailure(ErrorCode::ResourceContentBad,
                            "cannot convert the picture to RGB: " + describeAvError(started));
    }
    const int sent = sws_send_slice(scaler_.get(), 0, static_cast<unsigned>(frame->height));
    if (sent < 0) {
      throw SnapshotFailure(ErrorCode::ResourceContentBad,
                            "cannot convert the picture to RGB: " + describeAvError(sent));
    }
    const int alignment =
        static_cast<int>(std::max(1u, sws_receive_slice_alignment(scaler_.get())));
    const int sliceRows = std::max(alignment, 256 / alignment * alignment);
    const int height = static_cast<int>(scaled.height);
    for (int y = 0; y < height; y += sliceRows) {
      if (interruption != nullptr) {
        interruption->throwIfRequested();
      }
      const int received =
          sws_receive_slice(scaler_.get(), static_cast<unsigned>(y),
                            static_cast<unsigned>(std::min(sliceRows, height - y)));
      if (received < 0) {
        throw SnapshotFailure(ErrorCode::ResourceContentBad,
                              "cannot convert the picture to RGB: " + describeAvError(received));
      }
      rows += std::min(sliceRows, height - y);
    }
  } catch (...) {
    scaler_.reset();  // stopped inside a picture: the next one starts afresh
    throw;
  }
  if (rows <= 0) {
    throw SnapshotFailure(ErrorCode::Internal, "swscale produced no picture");
  }
  image->pixels.resize(stride * static_cast<size_t>(scaled.height));
  if (rotation_ == 0) {
    return image;
  }
  auto rotated = std::make_shared<RgbImage>();
  rotateInto(*image, rotation_, *rotated, interruption);
  return rotated;
}

}  // namespace framesnap
