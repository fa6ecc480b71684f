// How a player shows a stream: sample aspect ratio and display-matrix
// rotation; and the pixel limits every picture is checked against before
// anything is allocated for it.
#pragma once

#include <cstdint>

extern "C" {
#include <libavformat/avformat.h>
}

namespace framesnap {

struct Size {
  int64_t width = 0;
  int64_t height = 0;
};

// The longest side of any picture framesnap decodes or makes (the JPEG and
// sharp bound); src/limits.ts MAX_IMAGE_SIDE.
constexpr int64_t kMaxImageSide = 16383;
// The defaults of limitInputPixels and limitOutputPixels (8192x8192), as in
// src/limits.ts; used when a caller passes none.
constexpr int64_t kDefaultPixelLimit = 8192LL * 8192LL;

struct PixelLimits {
  // Decoded (coded) frame width * height.
  int64_t inputPixels = kDefaultPixelLimit;
  // Output image width * height, after SAR, rotation and the requested size.
  int64_t outputPixels = kDefaultPixelLimit;
};

// Sample aspect ratios outside 1:16 .. 16:1 are the container's mistake (a
// `pasp` box of 500:1 would make a 1080p picture 960000 pixels wide): they
// are ignored, as are missing or invalid ones, and the pixels taken as square
// ({1, 1}). probe() reports the ratio this returns.
AVRational usableSampleAspectRatio(AVRational sampleAspectRatio);

// Clockwise rotation in degrees (0, 90, 180 or 270) that turns decoded
// pictures upright, from the stream's display matrix (as the CLI's autorotate).
int clockwiseRotation(const AVStream* stream);

// Width and height as displayed: the usable SAR applied to the width, then rotated.
Size displaySize(int64_t codedWidth, int64_t codedHeight, AVRational sampleAspectRatio,
                 int rotation);

// The output size for a requested width/height (0 = not given): one given
// keeps the display aspect ratio, none gives the display size.
Size outputSize(Size display, int requestedWidth, int requestedHeight);

// Refuses decoded frames over limits.inputPixels or kMaxImageSide a side
// (ResourceContentBad, naming the limit and the size).
void checkInputSize(int64_t width, int64_t height, const PixelLimits& limits);
// Refuses an output over limits.outputPixels or kMaxImageSide a side: OutOfRange
// when the caller asked for the size (a width or height given), else
// ResourceContentBad (the video's own display size is too large).
void checkOutputSize(Size output, bool sizeRequested, const PixelLimits& limits);

}  // namespace framesnap
