// How a player shows a stream: sample aspect ratio and display-matrix rotation.
#pragma once

extern "C" {
#include <libavformat/avformat.h>
}

namespace framesnap {

struct Size {
  int width = 0;
  int height = 0;
};

// Clockwise rotation in degrees (0, 90, 180 or 270) that turns decoded
// pictures upright, from the stream's display matrix (as the CLI's autorotate).
int clockwiseRotation(const AVStream* stream);

// Width and height as displayed: SAR applied to the width, then rotated.
Size displaySize(int codedWidth, int codedHeight, AVRational sampleAspectRatio, int rotation);

// The output size for a requested width/height (0 = not given): one given
// keeps the display aspect ratio, none gives the display size.
Size outputSize(Size display, int requestedWidth, int requestedHeight);

}  // namespace framesnap
