// Copies the plain objects the TypeScript layer hands the addon into the
// core's structs (their shapes: src/core/native.ts). TypeScript validates
// user input against src/core/limits.ts and fills the defaults, and hands the
// binding the same bounds once (NATIVE_LIMITS, through setLimits); here a
// request is only held to them, so anything TypeScript accepts is taken as
// it is and nothing else is. A violation is a bug in the caller:
// SnapshotFailure(Internal) naming the field, never an abort.
// Main thread only: reads JavaScript values.
#pragma once

#include <napi.h>

#include <cstdint>
#include <optional>
#include <string>

#include "display_geometry.h"
#include "frame_extractor.h"
#include "remote_reader.h"

namespace framesnap {

// The bounds a request is held to (NATIVE_LIMITS of src/core/limits.ts). The
// defaults, in force until TypeScript sets its own, are what the C++ can take
// safely; setLimits refuses limits beyond them.
struct RequestLimits {
  int minSize = 1;  // a requested width or height: 0, or minSize..maxSize
  int maxSize = static_cast<int>(kMaxImageSide);
  double maxTimeMs = 1e12;                    // times: 0..maxTimeMs (Demuxer's int64_t arithmetic)
  double maxTimes = 4294967295.0;             // times in one request
  int maxThreads = 64;                        // threads: 0..maxThreads
  double maxPixelLimit = 9007199254740991.0;  // limit*Pixels: 1..maxPixelLimit (2^53 - 1)
  int64_t defaultPixelLimit = kDefaultPixelLimit;
  double maxTimeoutMs = 1e12;  // timeoutMs: 0 (none)..maxTimeoutMs
  double minBlackLevel = 0;    // blackFrames.blackLevel, percent
  double maxBlackLevel = 100;
  int maxPixelThreshold = 255;     // blackFrames.pixelThreshold: 0..this (8-bit luma)
  double maxBlackSearchMs = 1e12;  // blackFrames.searchMs: 0..this
};

// The options every call takes (NativeCallOptions).
struct CallOptions {
  const int32_t* abortFlag = nullptr;
  Napi::Reference<Napi::Int32Array> abortFlagOwner;  // keeps abortFlag alive
  double timeoutMs = 0;                              // 0: none
  PixelLimits limits;                                // defaultPixelLimit each when absent
  // Set: the path is an http(s) URL, read with these options (remote_reader.h).
  std::optional<RemoteOptions> remote;
  // remote.reuseKey: a URL kept open by a `reuse` call is reused only by a
  // call with the same key; empty (absent): a URL is never kept open.
  std::string reuseKey;
};

// An extract request (NativeExtractRequest).
struct ExtractArguments {
  ExtractRequest request;
  bool reuse = false;
};

// NATIVE_LIMITS: every field present, each within the defaults above (the
// C++'s own bounds) and maxImageSide equal to kMaxImageSide.
RequestLimits readLimits(Napi::Value value);

// Invariants (each names its field in the failure's message):
//   path       a non-empty string without NUL bytes
//   times      an array of at most maxTimes numbers 0..maxTimeMs, ascending
//              (equal ones allowed; empty too)
//   frameType  "intra" or "normal"
//   width, height   0 (from the video), or integers minSize..maxSize
//   threads    an integer 0..maxThreads (0: FFmpeg's choice)
//   reuse, stopAtEnd, skipNonReference   booleans when present (absent:
//              false, false, true)
//   blackFrames     absent, or an object with blackLevel a number
//              minBlackLevel..maxBlackLevel, pixelThreshold an integer
//              0..maxPixelThreshold, and searchMs a number 0..maxBlackSearchMs
//              when present (absent: 5000, SPEC section 5)
// Call options: absent, or an object with
//   abort      absent, or an Int32Array of at least one element
//   timeoutMs  absent, or a number 0..maxTimeoutMs (0: no deadline)
//   limitInputPixels, limitOutputPixels   absent (defaultPixelLimit), or
//              integers 1..maxPixelLimit
//   remote     absent (the path is a file), or an object with
//              allowPrivateNetwork a boolean or an array of 1..100 host names
//              (allowedPrivateHosts) of 1..253 characters, caFile absent or a non-empty
//              path without NUL bytes, and reuseKey absent or a string of
//              1..256 characters; the path is then an http: or https: URL
//              (libcurl checks it further)
std::string readPath(Napi::Value value);
CallOptions readCallOptions(Napi::Value value, const RequestLimits& bounds);
ExtractArguments readExtractArguments(Napi::Value value, const PixelLimits& pixelLimits,
                                      const RequestLimits& bounds);

}  // namespace framesnap
