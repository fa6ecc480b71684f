#include "binding_arguments.h"

#include <cmath>
#include <cstdio>

#include "snapshot_failure.h"

namespace framesnap {
namespace {

constexpr double kDefaultBlackSearchMs = 5000;

// What a message shows of a value: numbers and booleans as they are, never a
// string's or an object's contents.
std::string describe(const Napi::Value& value) {
  if (value.IsNumber()) {
    const double number = value.As<Napi::Number>().DoubleValue();
    if (std::isnan(number)) {
      return "NaN";
    }
    if (std::isinf(number)) {
      return number > 0 ? "Infinity" : "-Infinity";
    }
    char text[32];
    std::snprintf(text, sizeof text, "%.17g", number);
    return text;
  }
  if (value.IsBoolean()) {
    return value.As<Napi::Boolean>().Value() ? "true" : "false";
  }
  if (value.IsUndefined()) {
    return "undefined";
  }
  if (value.IsNull()) {
    return "null";
  }
  if (value.IsString()) {
    return "a string";
  }
  if (value.IsArray()) {
    return "an array";
  }
  if (value.IsFunction()) {
    return "a function";
  }
  return "an object";
}

[[noreturn]] void violated(const std::string& expected, const std::string& name,
                           const Napi::Value& value) {
  throw SnapshotFailure(ErrorCode::Internal, "Invalid native call (a bug in framesnap): expected " +
                                                 expected + " for " + name + " but received " +
                                                 describe(value));
}

double number(const Napi::Value& value, const char* expected, const std::string& name,
              double lowest, double highest, bool integer) {
  const double number = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : std::nan("");
  if (!std::isfinite(number) || number < lowest || number > highest ||
      (integer && number != std::floor(number))) {
    violated(expected, name, value);
  }
  return number;
}

std::string between(const char* what, double lowest, double highest) {
  char text[96];
  std::snprintf(text, sizeof text, "%s between %.17g and %.17g", what, lowest, highest);
  return text;
}

double integerIn(const Napi::Value& value, const std::string& name, double lowest, double highest) {
  return number(value, between("an integer", lowest, highest).c_str(), name, lowest, highest, true);
}

double numberIn(const Napi::Value& value, const std::string& name, double lowest, double highest) {
  return number(value, between("a number", lowest, highest).c_str(), name, lowest, highest, false);
}

// 0, or minSize..maxSize.
int size(const Napi::Object& object, const char* name, const RequestLimits& bounds) {
  const Napi::Value value = object.Get(name);
  if (value.IsNumber() && value.As<Napi::Number>().DoubleValue() == 0) {
    return 0;
  }
  const std::string expected = "0 or " + between("an integer", bounds.minSize, bounds.maxSize);
  return static_cast<int>(
      number(value, expected.c_str(), name, bounds.minSize, bounds.maxSize, true));
}

bool optionalBoolean(const Napi::Object& object, const char* name, bool absent) {
  const Napi::Value value = object.Get(name);
  if (value.IsUndefined()) {
    return absent;
  }
  if (!value.IsBoolean()) {
    violated("a boolean", name, value);
  }
  return value.As<Napi::Boolean>().Value();
}

FrameType readFrameType(const Napi::Value& value) {
  const std::string type = value.IsString() ? value.As<Napi::String>().Utf8Value() : "";
  if (type == "intra") {
    return FrameType::Intra;
  }
  if (type == "normal") {
    return FrameType::Normal;
  }
  violated("\"intra\" or \"normal\"", "frameType", value);
}

std::vector<double> readTimes(const Napi::Value& value, const RequestLimits& bounds) {
  if (!value.IsArray() || value.As<Napi::Array>().Length() > bounds.maxTimes) {
    char expected[64];
    std::snprintf(expected, sizeof expected, "an array of at most %.17g times", bounds.maxTimes);
    violated(expected, "times", value);
  }
  const Napi::Array array = value.As<Napi::Array>();
  std::vector<double> times;
  times.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    const double previous = times.empty() ? 0 : times.back();
    char expected[128];
    std::snprintf(expected, sizeof expected,
                  "a number of milliseconds between %.17g and %.17g (times ascend)", previous,
                  bounds.maxTimeMs);
    times.push_back(number(array.Get(i), expected, "times[" + std::to_string(i) + "]", previous,
                           bounds.maxTimeMs, false));
  }
  return times;
}

BlackFrameFilter readBlackFrames(const Napi::Value& value, const RequestLimits& bounds) {
  BlackFrameFilter filter;
  if (value.IsUndefined()) {
    return filter;
  }
  if (!value.IsObject() || value.IsArray()) {
    violated("an object", "blackFrames", value);
  }
  const Napi::Object object = value.As<Napi::Object>();
  filter.enabled = true;
  filter.blackLevelPercent = numberIn(object.Get("blackLevel"), "blackFrames.blackLevel",
                                      bounds.minBlackLevel, bounds.maxBlackLevel);
  filter.pixelThreshold = static_cast<int>(integerIn(
      object.Get("pixelThreshold"), "blackFrames.pixelThreshold", 0, bounds.maxPixelThreshold));
  const Napi::Value searchMs = object.Get("searchMs");
  filter.searchMs = searchMs.IsUndefined()
                        ? kDefaultBlackSearchMs
                        : numberIn(searchMs, "blackFrames.searchMs", 0, bounds.maxBlackSearchMs);
  return filter;
}

int64_t optionalLimit(const Napi::Object& object, const char* name, const RequestLimits& bounds) {
  const Napi::Value value = object.Get(name);
  if (value.IsUndefined()) {
    return bounds.defaultPixelLimit;
  }
  return static_cast<int64_t>(integerIn(value, name, 1, bounds.maxPixelLimit));
}

}  // namespace

std::string readPath(Napi::Value value) {
  if (!value.IsString()) {
    violated("a non-empty path without NUL bytes", "path", value);
  }
  std::string path = value.As<Napi::String>().Utf8Value();
  if (path.empty() || path.find('\0') != std::string::npos) {
    violated("a non-empty path without NUL bytes", "path", value);
  }
  return path;
}

RequestLimits readLimits(Napi::Value value) {
  if (!value.IsObject() || value.IsArray()) {
    violated("the NATIVE_LIMITS object", "limits", value);
  }
  const Napi::Object object = value.As<Napi::Object>();
  const RequestLimits ceiling;
  const auto field = [&](const char* name, double lowest, double highest) {
    return integerIn(object.Get(name), std::string("limits.") + name, lowest, highest);
  };
  const auto fraction = [&](const char* name, double lowest, double highest) {
    return numberIn(object.Get(name), std::string("limits.") + name, lowest, highest);
  };
  RequestLimits limits;
  // The core's output side bound is compiled in: TypeScript's must agree.
  field("maxImageSide", static_cast<double>(kMaxImageSide), static_cast<double>(kMaxImageSide));
  limits.maxSize = static_cast<int>(field("maxSize", 1, ceiling.maxSize));
  limits.minSize = static_cast<int>(field("minSize", 1, limits.maxSize));
  limits.maxTimeMs = fraction("maxTimeMs", 0, ceiling.maxTimeMs);
  limits.maxTimes = field("maxTimes", 1, ceiling.maxTimes);
  limits.maxThreads = static_cast<int>(field("maxThreads", 0, ceiling.maxThreads));
  limits.maxPixelLimit = field("maxPixelLimit", 1, ceiling.maxPixelLimit);
  limits.defaultPixelLimit =
      static_cast<int64_t>(field("defaultPixelLimit", 1, limits.maxPixelLimit));
  limits.maxTimeoutMs = fraction("maxTimeoutMs", 0, ceiling.maxTimeoutMs);
  limits.maxBlackLevel = fraction("maxBlackLevel", 0, ceiling.maxBlackLevel);
  limits.minBlackLevel = fraction("minBlackLevel", 0, limits.maxBlackLevel);
  limits.maxPixelThreshold =
      static_cast<int>(field("maxPixelThreshold", 0, ceiling.maxPixelThreshold));
  limits.maxBlackSearchMs = fraction("maxBlackSearchMs", 0, ceiling.maxBlackSearchMs);
  return limits;
}

CallOptions readCallOptions(Napi::Value value, const RequestLimits& bounds) {
  CallOptions options;
  if (value.IsUndefined()) {
    return options;
  }
  if (!value.IsObject() || value.IsArray()) {
    violated("an options object", "options", value);
  }
  const Napi::Object object = value.As<Napi::Object>();
  const Napi::Value abort = object.Get("abort");
  if (!abort.IsUndefined()) {
    if (!abort.IsTypedArray() ||
        abort.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
        abort.As<Napi::Int32Array>().ElementLength() < 1) {
      violated("an Int32Array of at least one element", "abort", abort);
    }
    Napi::Int32Array flag = abort.As<Napi::Int32Array>();
    options.abortFlag = flag.Data();
    options.abortFlagOwner = Napi::Persistent(flag);
  }
  const Napi::Value timeoutMs = object.Get("timeoutMs");
  if (!timeoutMs.IsUndefined()) {
    options.timeoutMs = numberIn(timeoutMs, "timeoutMs", 0, bounds.maxTimeoutMs);
  }
  options.limits.inputPixels = optionalLimit(object, "limitInputPixels", bounds);
  options.limits.outputPixels = optionalLimit(object, "limitOutputPixels", bounds);
  const Napi::Value remote = object.Get("remote");
  if (!remote.IsUndefined()) {
    if (!remote.IsObject() || remote.IsArray()) {
      violated("an object", "remote", remote);
    }
    const Napi::Object fields = remote.As<Napi::Object>();
    const Napi::Value allow = fields.Get("allowPrivateNetwork");
    RemoteOptions read;
    if (allow.IsBoolean()) {
      read.allowPrivateNetwork = allow.As<Napi::Boolean>().Value();
    } else if (allow.IsArray()) {
      const Napi::Array hosts = allow.As<Napi::Array>();
      const char* expected = "a boolean, or an array of 1 to 100 host names of 1 to 253 characters";
      if (hosts.Length() < 1 || hosts.Length() > 100) {
        violated(expected, "remote.allowPrivateNetwork", allow);
      }
      for (uint32_t i = 0; i < hosts.Length(); ++i) {
        const Napi::Value host = hosts.Get(i);
        const std::string name = host.IsString() ? host.As<Napi::String>().Utf8Value() : "";
        if (name.empty() || name.size() > 253 || name.find('\0') != std::string::npos) {
          violated(expected, "remote.allowPrivateNetwork", allow);
        }
        read.allowedPrivateHosts.push_back(name);
      }
    } else {
      violated("a boolean, or an array of host names", "remote.allowPrivateNetwork", allow);
    }
    const Napi::Value caFile = fields.Get("caFile");
    if (!caFile.IsUndefined()) {
      if (!caFile.IsString() || caFile.As<Napi::String>().Utf8Value().empty() ||
          caFile.As<Napi::String>().Utf8Value().find('\0') != std::string::npos) {
        violated("a non-empty path without NUL bytes", "remote.caFile", caFile);
      }
      read.caFile = caFile.As<Napi::String>().Utf8Value();
    }
    const Napi::Value reuseKey = fields.Get("reuseKey");
    if (!reuseKey.IsUndefined()) {
      if (!reuseKey.IsString() || reuseKey.As<Napi::String>().Utf8Value().empty() ||
          reuseKey.As<Napi::String>().Utf8Value().size() > 256) {
        violated("a string of 1 to 256 characters", "remote.reuseKey", reuseKey);
      }
      options.reuseKey = reuseKey.As<Napi::String>().Utf8Value();
    }
    options.remote = read;
  }
  return options;
}

ExtractArguments readExtractArguments(Napi::Value value, const PixelLimits& pixelLimits,
                                      const RequestLimits& bounds) {
  if (!value.IsObject() || value.IsArray()) {
    violated("a request object", "request", value);
  }
  const Napi::Object object = value.As<Napi::Object>();
  ExtractArguments arguments;
  ExtractRequest& request = arguments.request;
  request.path = readPath(object.Get("path"));
  request.threads =
      static_cast<int>(integerIn(object.Get("threads"), "threads", 0, bounds.maxThreads));
  FrameSelection& selection = request.selection;
  selection.timesMs = readTimes(object.Get("times"), bounds);
  selection.frameType = readFrameType(object.Get("frameType"));
  selection.width = size(object, "width", bounds);
  selection.height = size(object, "height", bounds);
  selection.stopAtEnd = optionalBoolean(object, "stopAtEnd", false);
  selection.skipNonReference = optionalBoolean(object, "skipNonReference", true);
  selection.blackFirstFrame = readBlackFrames(object.Get("blackFrames"), bounds);
  selection.limits = pixelLimits;
  arguments.reuse = optionalBoolean(object, "reuse", false);
  return arguments;
}

}  // namespace framesnap
