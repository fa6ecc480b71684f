#include "demuxer.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "ffmpeg_compat.h"

extern "C" {
#include <libavutil/mathematics.h>
}

#include "display_geometry.h"
#include "snapshot_failure.h"

namespace framesnap {
namespace {

// Demuxers of video containers and elementary streams. Playlists and other
// formats that open further files (hls, dash, concat, image2 patterns) and
// text formats decoded as pictures (tty) are deliberately absent: a request
// must never reach a file outside its bucket or turn a text file into a frame.
constexpr const char* kVideoFormats =
    "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,mpegts,mpeg,avi,flv,asf,ogg,m4v,h264,hevc,"
    "mpegvideo,ivf,mxf,nut,gif,dv,yuv4mpegpipe,mjpeg,jpeg_pipe,obu,vc1,rm,wtv";

// Elementary streams whose packets carry no presentation timestamps of their
// own: their frames are timed by counting, from the start, at the frame rate.
bool isElementaryStream(const char* name) {
  for (const char* raw :
       {"h264", "hevc", "mpegvideo", "m4v", "mjpeg", "jpeg_pipe", "vc1", "cavsvideo"}) {
    if (std::strcmp(name, raw) == 0) {
      return true;
    }
  }
  return false;
}

// Containers without a seek function of their own (MPEG-TS/PS, raw
// streams, IVF): FFmpeg seeks them by a binary search on decode timestamps,
// which lands after the first keyframe when asked for the start; byte 0 is
// their true start. Containers with their own seek (MP4, Matroska, AVI, FLV)
// must not be byte-sought.
bool startsAtByteZero(const AVInputFormat* format) {
  return compat::seeksByGenericSearch(format) && (format->flags & AVFMT_NO_BYTE_SEEK) == 0;
}

// FFmpeg's messages may quote the URL it opened; the path stays on the server.
std::string withoutPath(std::string message, const std::string& path) {
  if (path.empty()) {
    return message;  // a remote input: FFmpeg was given no name to quote
  }
  for (const std::string& name : {"file:" + path, path}) {
    for (size_t at = message.find(name); at != std::string::npos; at = message.find(name, at)) {
      message.replace(at, name.size(), "the file");
      at += 8;
    }
  }
  return message;
}

bool hasDecoderParameters(const AVCodecParameters* parameters) {
  return parameters->codec_id != AV_CODEC_ID_NONE && parameters->width > 0 &&
         parameters->height > 0;
}

// a + b, clamped to [-INT64_MAX, INT64_MAX] (INT64_MIN is AV_NOPTS_VALUE).
int64_t saturatingAdd(int64_t a, int64_t b) {
  int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) {
    return b > 0 ? INT64_MAX : -INT64_MAX;
  }
  return std::max(sum, -INT64_MAX);
}

// Streams probed besides the chosen video stream (see limitProbedStreams).
constexpr int kStreamsProbedBesides = 16;

// The per-stream options of avformat_find_stream_info, freed on every path.
// A contiguous array of raw pointers, as FFmpeg rewrites its entries in place
// (the one place in native/ that frees an FFmpeg object by hand).
class StreamProbeOptions {
 public:
  StreamProbeOptions(unsigned streams, int64_t limitInputPixels) : options_(streams, nullptr) {
    const std::string maxPixels = std::to_string(limitInputPixels);
    for (AVDictionary*& options : options_) {
      // One thread per probing decoder (what FFmpeg does when given no
      // options), and no picture larger than the limit is ever allocated.
      av_dict_set(&options, "threads", "1", 0);
      av_dict_set(&options, "max_pixels", maxPixels.c_str(), 0);
    }
  }
  ~StreamProbeOptions() {
    for (AVDictionary*& options : options_) {
      av_dict_free(&options);
    }
  }
  StreamProbeOptions(const StreamProbeOptions&) = delete;
  StreamProbeOptions& operator=(const StreamProbeOptions&) = delete;
  AVDictionary** get() { return options_.empty() ? nullptr : options_.data(); }

 private:
  std::vector<AVDictionary*> options_;
};

// Streams a container may reveal after its header (MPEG-TS PIDs, FLV) when
// the header named no video stream yet.
constexpr int kStreamsFoundAfterHeader = 8;

}  // namespace

// Test-only (see demuxer.h).
void crashWhenTestAsks(const std::string& path) {
  const char* suffix = std::getenv("FRAMESNAP_TEST_CRASH_SUFFIX");
  if (suffix == nullptr || *suffix == '\0') {
    return;
  }
  const size_t length = std::strlen(suffix);
  if (path.size() >= length && path.compare(path.size() - length, length, suffix) == 0) {
    std::raise(SIGSEGV);
  }
}

const char* videoFormatWhitelist() { return kVideoFormats; }

Demuxer::Demuxer(const std::string& path, const Interruption& interruption, bool probeStreams,
                 int64_t limitInputPixels, const RemoteOptions* remote)
    : interruption_(interruption) {
  if (remote != nullptr) {
    remote_ = std::make_unique<RemoteInput>(path, *remote, interruption_);
  } else {
    crashWhenTestAsks(path);
  }
  // The name FFmpeg is given, and scrubbed from its messages: none for a URL.
  const std::string& name = remote_ ? std::string() : path;
  clearCapturedFfmpegLog();
  AVFormatContext* raw = avformat_alloc_context();
  if (raw == nullptr) {
    throw SnapshotFailure(ErrorCode::Internal, "out of memory opening the file");
  }
  raw->interrupt_callback.callback = &Interruption::ffmpegCallback;
  raw->interrupt_callback.opaque = const_cast<Interruption*>(&interruption_);
  raw->format_whitelist = av_strdup(kVideoFormats);
  if (remote_) {
    // FFmpeg reads through the reader only; no protocol may be opened (a
    // container naming another file or URL gets nothing).
    raw->pb = remote_->context();
    raw->flags |= AVFMT_FLAG_CUSTOM_IO;
    raw->protocol_whitelist = av_strdup("none");
  } else {
    raw->protocol_whitelist = av_strdup("file");
  }

  // The "file:" prefix keeps a name such as "concat:a|b" or "http:x" a plain path.
  const std::string url = remote_ ? std::string() : "file:" + path;
  const int opened = avformat_open_input(&raw, url.c_str(), nullptr, nullptr);
  if (opened < 0) {
    // avformat_open_input frees the context on failure (not a custom pb).
    interruption_.throwIfRequested();
    rethrowRemoteFailure();
    // EINVAL: not a format on the list. ENOMEM: tables (MP4 stco/stts
    // counts) too large to read, a property of the file, not of the server.
    const ErrorCode code = opened == AVERROR(EINVAL) || opened == AVERROR(ENOMEM)
                               ? ErrorCode::ResourceContentBad
                               : errorCodeForAvError(opened);
    const std::string description =
        opened == AVERROR(ENOMEM)
            ? "its tables are too large" + withoutPath(takeCapturedFfmpegLog(), name)
            : withoutPath(describeAvError(opened), name);
    throw SnapshotFailure(code, "cannot open the file as a video: " + description);
  }
  context_.reset(raw);

  const auto findVideoStream = [this]() {
    return av_find_best_stream(context_.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  };
  // The stream is chosen from the header when it names one: only that stream
  // and a few others are probed, only it is demuxed and decoded (a file with
  // 1000 streams must cost what a file with one does), and the probe adds no
  // stream found after the header.
  int index = findVideoStream();
  limitProbedStreams(index);
  // A picture the probe refused to decode for the limit.
  bool oversized = false;
  int64_t oversizedWidth = 0;
  int64_t oversizedHeight = 0;
  const bool headerIsEnough =
      index >= 0 && hasDecoderParameters(context_->streams[index]->codecpar);
  if (probeStreams || !headerIsEnough) {
    StreamProbeOptions options(context_->nb_streams, limitInputPixels);
    // The probe reads ahead; streams it would find there are not added (each
    // would get a decoder). After it, MPEG-TS/PS stay capped (below); other
    // formats may add streams as they read, discarded as they appear
    // (readVideoPacket).
    const int maxStreams = context_->max_streams;
    context_->max_streams =
        static_cast<int>(context_->nb_streams) + (index >= 0 ? 0 : kStreamsFoundAfterHeader);
    const int probed = avformat_find_stream_info(context_.get(), options.get());
    context_->max_streams = maxStreams;
    interruption_.throwIfRequested();
    oversized = takeOversizedPicture(oversizedWidth, oversizedHeight);
    if (probed < 0 && oversized) {
      throwOversizedPicture(oversizedWidth, oversizedHeight, limitInputPixels);
    }
    if (probed < 0) {
      rethrowRemoteFailure();
      throw SnapshotFailure(
          ErrorCode::ResourceContentBad,
          "cannot read the streams of the file: " + withoutPath(describeAvError(probed), name));
    }
    if (index < 0) {
      index = findVideoStream();
    }
  }
  discardAllBut(index);
  if (index < 0 || !hasDecoderParameters(context_->streams[index]->codecpar)) {
    // The probe could not describe the stream because it refused to decode
    // an oversized picture: say so, naming the limit.
    if (oversized) {
      throwOversizedPicture(oversizedWidth, oversizedHeight, limitInputPixels);
    }
  }
  if (index < 0) {
    throw SnapshotFailure(ErrorCode::ResourceContentBad, "the file has no video stream");
  }
  stream_ = context_->streams[index];
  if (!hasDecoderParameters(stream_->codecpar)) {
    throw SnapshotFailure(ErrorCode::ResourceContentBad,
                          "the video stream has no usable codec parameters");
  }
  // Cover art is a single picture, not video.
  if ((stream_->disposition & AV_DISPOSITION_ATTACHED_PIC) != 0) {
    throw SnapshotFailure(ErrorCode::ResourceContentBad,
                          "the file has only an attached picture, no video stream");
  }
  // MPEG-TS and MPEG-PS add a stream for every unknown packet id they meet
  // (with a parser each): 1000 of them cost 170 MB. None is added from now
  // on; MPEG-TS then fails each of their packets with ENOMEM, which
  // readVideoPacket skips. Other formats keep their streams as they come.
  const std::string format = context_->iformat->name;
  if (format == "mpegts" || format == "mpeg") {
    context_->max_streams = static_cast<int>(context_->nb_streams);
    capsStreams_ = true;
  }
  findOrigin();
}

void Demuxer::discardAllBut(int index) {
  for (unsigned i = 0; i < context_->nb_streams; ++i) {
    if (static_cast<int>(i) != index) {
      context_->streams[i]->discard = AVDISCARD_ALL;
    }
  }
}

// Before a stream probe: the first kStreamsProbedBesides streams other than
// the chosen one are probed as FFmpeg does (their first timestamps make the
// file's start time, as for the ffmpeg CLI: an audio stream that starts
// before the video moves the origin of every requested time); the others are
// ignored. `index` < 0: no video stream known yet, only streams known to be
// something else count as others.
void Demuxer::limitProbedStreams(int index) {
  int others = 0;
  for (unsigned i = 0; i < context_->nb_streams; ++i) {
    AVStream* stream = context_->streams[i];
    const AVMediaType type = stream->codecpar->codec_type;
    const bool other = index >= 0 ? static_cast<int>(i) != index
                                  : type != AVMEDIA_TYPE_VIDEO && type != AVMEDIA_TYPE_UNKNOWN;
    if (other && ++others > kStreamsProbedBesides) {
      ignoreStream(stream);
    }
  }
}

// A stream framesnap never reads: not demuxed, and not probed either (a
// stream probe opens a decoder for every stream it finds undescribed, whether
// discarded or not, about 0.8 MB each for H.264; as a data stream it counts
// as described). Its start and end times then count for the file's only
// when within a second of the others' (FFmpeg's rule for data streams).
void Demuxer::ignoreStream(AVStream* stream) {
  stream->discard = AVDISCARD_ALL;
  stream->codecpar->codec_type = AVMEDIA_TYPE_DATA;
}

void Demuxer::throwOversizedPicture(int64_t width, int64_t height, int64_t limitInputPixels) {
  PixelLimits limits;
  limits.inputPixels = limitInputPixels;
  checkInputSize(width, height, limits);
  // FFmpeg counts a little differently (its own padding); say it plainly.
  throw SnapshotFailure(ErrorCode::ResourceContentBad,
                        "the video's frames are " + std::to_string(width) + "x" +
                            std::to_string(height) + ", over limitInputPixels (" +
                            std::to_string(limitInputPixels) + ")");
}

void Demuxer::findOrigin() {
  lacksTimestamps_ = isElementaryStream(context_->iformat->name);
  if (lacksTimestamps_) {
    origin_ = 0;
    return;
  }
  if (context_->start_time != AV_NOPTS_VALUE) {
    origin_ = av_rescale_q(context_->start_time, AV_TIME_BASE_Q, stream_->time_base);
    return;
  }
  if (stream_->start_time != AV_NOPTS_VALUE) {
    origin_ = stream_->start_time;
    return;
  }
  // Without a stream probe some containers (Matroska/WebM) state no start
  // time: it is the first video packet's (FFmpeg fills the stream's start
  // time as that packet goes by, B-frame delay included).
  UniquePacket packet = allocatePacket();
  if (readVideoPacket(packet.get())) {
    if (stream_->start_time != AV_NOPTS_VALUE) {
      origin_ = stream_->start_time;
    } else if (packet->pts != AV_NOPTS_VALUE) {
      origin_ = packet->pts;
    } else if (packet->dts != AV_NOPTS_VALUE) {
      origin_ = packet->dts;
    }
  }
  seekToStart();
}

void Demuxer::rethrowRemoteFailure() {
  if (remote_) {
    remote_->rethrowFailure();
  }
}

int64_t Demuxer::toTimestamp(double milliseconds, AVRounding rounding) const {
  // A time past 1e12 ms (31 years, the largest the binding takes) is taken
  // as 1e12 ms, and one before -1e12 ms
  // (a search backing off from a crafted timestamp) as -1e12 ms: no video is
  // that long, and the arithmetic stays inside int64_t (1e15 us; 2.1e18
  // ticks in a time base of 1/2^31 s).
  constexpr double kFarthestMs = 1e12;
  // Whole microseconds first: fractional milliseconds are allowed, finer is noise.
  const auto microseconds = static_cast<int64_t>(
      std::llround(std::clamp(milliseconds, -kFarthestMs, kFarthestMs) * 1000.0));
  return saturatingAdd(origin_,
                       av_rescale_q_rnd(microseconds, AV_TIME_BASE_Q, stream_->time_base,
                                        static_cast<AVRounding>(rounding | AV_ROUND_PASS_MINMAX)));
}

int64_t Demuxer::firstTimestampAtOrAfter(double milliseconds) const {
  return toTimestamp(milliseconds, AV_ROUND_UP);
}

int64_t Demuxer::lastTimestampAtOrBefore(double milliseconds) const {
  return toTimestamp(milliseconds, AV_ROUND_DOWN);
}

double Demuxer::toMilliseconds(int64_t timestamp) const {
  // A crafted file's timestamps may be anywhere in int64_t: no overflow.
  const int64_t microseconds = av_rescale_q(
      saturatingAdd(timestamp, -std::max(origin_, -INT64_MAX)), stream_->time_base, AV_TIME_BASE_Q);
  return static_cast<double>(microseconds) / 1000.0;
}

int64_t Demuxer::frameDuration() const {
  AVRational rate = stream_->avg_frame_rate;
  if (rate.num <= 0 || rate.den <= 0) {
    rate = stream_->r_frame_rate;
  }
  if (rate.num <= 0 || rate.den <= 0) {
    rate = AVRational{25, 1};  // the raw demuxers' default
  }
  return std::max<int64_t>(av_rescale_q(1, av_inv_q(rate), stream_->time_base), 1);
}

double Demuxer::durationMs() const {
  if (lacksTimestamps_) {
    return -1;  // only a full decode could tell (FFmpeg guesses from the bit rate)
  }
  if (context_->duration != AV_NOPTS_VALUE && context_->duration > 0) {
    return static_cast<double>(context_->duration) / 1000.0;
  }
  if (stream_->duration != AV_NOPTS_VALUE && stream_->duration > 0) {
    return static_cast<double>(stream_->duration) * av_q2d(stream_->time_base) * 1000.0;
  }
  return -1;
}

void Demuxer::seekToKeyframeBefore(int64_t timestamp) {
  clearCapturedFfmpegLog();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int sought = avformat_seek_file(context_.get(), stream_->index, kMin, timestamp, timestamp, 0);
  if (sought < 0) {
    // No keyframe at or before the target as far as the index tells (its
    // first entry may come after the file's start, and Matroska searches
    // forward from where it stands, which after the end finds nothing): take
    // the nearest keyframe; the callers back off when it lands late.
    sought = avformat_seek_file(context_.get(), stream_->index, kMin, timestamp, kMax, 0);
  }
  if (sought < 0 && startsAtByteZero(context_->iformat)) {
    sought = avformat_seek_file(context_.get(), -1, kMin, 0, kMax, AVSEEK_FLAG_BYTE);
  }
  interruption_.throwIfRequested();
  if (sought < 0) {
    rethrowRemoteFailure();
    throw SnapshotFailure(ErrorCode::ResourceContentBad,
                          "cannot seek in the video: " + describeAvError(sought));
  }
}

void Demuxer::seekToStart() {
  if (startsAtByteZero(context_->iformat) && context_->pb != nullptr) {
    clearCapturedFfmpegLog();
    const int sought = avformat_seek_file(context_.get(), -1, std::numeric_limits<int64_t>::min(),
                                          0, std::numeric_limits<int64_t>::max(), AVSEEK_FLAG_BYTE);
    interruption_.throwIfRequested();
    if (sought >= 0) {
      return;
    }
  }
  seekToKeyframeBefore(origin_);
}

bool Demuxer::readVideoPacket(AVPacket* packet) {
  for (;;) {
    interruption_.throwIfRequested();
    av_packet_unref(packet);
    const int read = av_read_frame(context_.get(), packet);
    if (read == AVERROR_EOF) {
      return false;
    }
    if (read == AVERROR(ENOMEM) && capsStreams_ && context_->pb != nullptr &&
        context_->nb_streams >= static_cast<unsigned>(context_->max_streams)) {
      // A packet of a stream the cap refused; skipped, as long as reading
      // moves on (a real failure to allocate would not).
      const int64_t position = avio_tell(context_->pb);
      if (position != refusedAt_) {
        refusedAt_ = position;
        continue;
      }
    }
    if (read < 0) {
      interruption_.throwIfRequested();
      rethrowRemoteFailure();
      // A damaged tail ends the stream like EOF would; a read error that is
      // not about content is reported.
      if (read == AVERROR_INVALIDDATA) {
        return false;
      }
      throw SnapshotFailure(errorCodeForAvError(read),
                            "cannot read the video: " + describeAvError(read));
    }
    if (packet->stream_index == stream_->index) {
      return true;
    }
    // A stream the container revealed after its header: not demuxed further.
    if (packet->stream_index >= 0 &&
        static_cast<unsigned>(packet->stream_index) < context_->nb_streams) {
      context_->streams[packet->stream_index]->discard = AVDISCARD_ALL;
    }
  }
}

}  // namespace framesnap
