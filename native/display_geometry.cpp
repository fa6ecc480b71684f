#include "display_geometry.h"

#include <algorithm>
#include <cmath>

extern "C" {
#include <libavutil/display.h>
}

namespace framesnap {

int clockwiseRotation(const AVStream* stream) {
  const auto* matrix = reinterpret_cast<const int32_t*>(
      av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, nullptr));
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

Size displaySize(int codedWidth, int codedHeight, AVRational sampleAspectRatio, int rotation) {
  int width = codedWidth;
  if (sampleAspectRatio.num > 0 && sampleAspectRatio.den > 0) {
    width = static_cast<int>(std::lround(codedWidth * av_q2d(sampleAspectRatio)));
    width = std::max(width, 1);
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
  if (requestedWidth > 0) {
    const long height =
        std::lround(static_cast<double>(requestedWidth) * display.height / display.width);
    return {requestedWidth, static_cast<int>(std::max(height, 1L))};
  }
  if (requestedHeight > 0) {
    const long width =
        std::lround(static_cast<double>(requestedHeight) * display.width / display.height);
    return {static_cast<int>(std::max(width, 1L)), requestedHeight};
  }
  return display;
}

}  // namespace framesnap
