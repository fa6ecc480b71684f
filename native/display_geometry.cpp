#include "display_geometry.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "ffmpeg_compat.h"

extern "C" {
#include <libavutil/display.h>
}

#include "snapshot_failure.h"

namespace framesnap {
namespace {

constexpr int64_t kLargestSampleAspect = 16;

std::string sizeText(int64_t width, int64_t height) {
  return std::to_string(width) + "x" + std::to_string(height);
}

// Multiplication that cannot overflow for the sizes here (each side is at
// most a few hundred million after clamping).
int64_t pixelsOf(int64_t width, int64_t height) {
  if (width <= 0 || height <= 0) {
    return 0;
  }
  constexpr int64_t kMax = INT64_MAX;
  return width > kMax / height ? kMax : width * height;
}

}  // namespace

AVRational usableSampleAspectRatio(AVRational sampleAspectRatio) {
  const int64_t num = sampleAspectRatio.num;
  const int64_t den = sampleAspectRatio.den;
  if (num <= 0 || den <= 0 || num > den * kLargestSampleAspect ||
      den > num * kLargestSampleAspect) {
    return AVRational{1, 1};
  }
  AVRational reduced{1, 1};
  av_reduce(&reduced.num, &reduced.den, num, den, INT32_MAX);
  return reduced;
}

int clockwiseRotation(const AVStream* stream) {
  const auto* matrix =
      reinterpret_cast<const int32_t*>(compat::streamSideData(stream, AV_PKT_DATA_DISPLAYMATRIX));
  if (matrix == nullptr) {
    return 0;
  }
  const double counterClockwise = av_display_rotation_get(matrix);
  if (std::isnan(counterClockwise)) {
    return 0;
  }
  const long quarterTurns = std::lround(-counterClockwise / 90.0);
  return static_cast<int>(((quarterTurns % 4) + 4) % 4) * 90;
}

Size displaySize(int64_t codedWidth, int64_t codedHeight, AVRational sampleAspectRatio,
                 int rotation) {
  const AVRational usable = usableSampleAspectRatio(sampleAspectRatio);
  int64_t width = codedWidth;
  if (usable.num != usable.den) {
    width = std::max<int64_t>(std::llround(static_cast<double>(codedWidth) * av_q2d(usable)), 1);
  }
  if (rotation == 90 || rotation == 270) {
    return {codedHeight, width};
  }
  return {width, codedHeight};
}

Size outputSize(Size display, int requestedWidth, int requestedHeight) {
  if (requestedWidth > 0 && requestedHeight > 0) {
    return {requestedWidth, requestedHeight};
  }
  if (display.width <= 0 || display.height <= 0) {
    return display;
  }
  // In double: a side of 16384 times a display side of a few million fits.
  if (requestedWidth > 0) {
    const double height = static_cast<double>(requestedWidth) *
                          static_cast<double>(display.height) / static_cast<double>(display.width);
    return {requestedWidth, std::max<int64_t>(std::llround(std::min(height, 1e15)), 1)};
  }
  if (requestedHeight > 0) {
    const double width = static_cast<double>(requestedHeight) * static_cast<double>(display.width) /
                         static_cast<double>(display.height);
    return {std::max<int64_t>(std::llround(std::min(width, 1e15)), 1), requestedHeight};
  }
  return display;
}

void checkInputSize(int64_t width, int64_t height, const PixelLimits& limits) {
  const int64_t pixels = pixelsOf(width, height);
  if (pixels > limits.inputPixels) {
    throw SnapshotFailure(ErrorCode::ResourceContentBad,
                          "the video's frames are " + sizeText(width, height) + " (" +
                              std::to_string(pixels) + " pixels), over limitInputPixels (" +
                              std::to_string(limits.inputPixels) + ")");
  }
  if (width > kMaxImageSide || height > kMaxImageSide) {
    throw SnapshotFailure(ErrorCode::ResourceContentBad,
                          "the video's frames are " + sizeText(width, height) +
                              ", over the largest side of " + std::to_string(kMaxImageSide) +
                              " pixels");
  }
}

void checkOutputSize(Size output, bool sizeRequested, const PixelLimits& limits) {
  const int64_t pixels = pixelsOf(output.width, output.height);
  const bool tooMany = pixels > limits.outputPixels;
  if (!tooMany && output.width <= kMaxImageSide && output.height <= kMaxImageSide) {
    return;
  }
  const std::string what =
      sizeRequested ? "the requested image would be " : "the video's pictures display at ";
  const ErrorCode code = sizeRequested ? ErrorCode::OutOfRange : ErrorCode::ResourceContentBad;
  if (tooMany) {
    throw SnapshotFailure(code, what + sizeText(output.width, output.height) + " (" +
                                    std::to_string(pixels) + " pixels), over limitOutputPixels (" +
                                    std::to_string(limits.outputPixels) + ")");
  }
  throw SnapshotFailure(code, what + sizeText(output.width, output.height) +
                                  ", over the largest side of " + std::to_string(kMaxImageSide) +
                                  " pixels");
}

}  // namespace framesnap
