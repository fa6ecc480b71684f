// RgbConverter: turns decoded frames into upright, tightly packed RGB at the
// output size in one swscale pass (colour matrix and range from the stream),
// then applies the display rotation. One per job, not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "display_geometry.h"
#include "ffmpeg_ptr.h"
#include "interruption.h"

namespace framesnap {

struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  // width * height * 3 bytes, no padding
};

class RgbConverter {
 public:
  explicit RgbConverter(int rotation);

  // requestedWidth/Height: 0 when not given (see outputSize). The frame, its
  // display size and the output size are checked against `limits` first.
  // `interruption`, when given, is checked between slices of the conversion.
  std::shared_ptr<RgbImage> convert(const AVFrame* frame, AVRational streamSampleAspectRatio,
                                    int requestedWidth, int requestedHeight,
                                    const PixelLimits& limits = PixelLimits(),
                                    const Interruption* interruption = nullptr);

 private:
  int rotation_;
  UniqueSwsContext scaler_;
};

}  // namespace framesnap
