// Owning smart pointers for every FFmpeg object framesnap touches. Nothing
// else in native/ calls an av*_free function by hand, but for the options
// array of a stream probe (StreamProbeOptions in demuxer.cpp, which FFmpeg
// rewrites in place), freed by its own destructor.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>
}

#include <memory>

namespace framesnap {

struct FormatContextCloser {
  void operator()(AVFormatContext* context) const { avformat_close_input(&context); }
};
struct CodecContextFreer {
  void operator()(AVCodecContext* context) const { avcodec_free_context(&context); }
};
struct FrameFreer {
  void operator()(AVFrame* frame) const { av_frame_free(&frame); }
};
struct PacketFreer {
  void operator()(AVPacket* packet) const { av_packet_free(&packet); }
};
struct SwsContextFreer {
  void operator()(SwsContext* context) const { sws_freeContext(context); }
};
struct DictionaryFreer {
  void operator()(AVDictionary* dictionary) const { av_dict_free(&dictionary); }
};

using UniqueFormatContext = std::unique_ptr<AVFormatContext, FormatContextCloser>;
using UniqueCodecContext = std::unique_ptr<AVCodecContext, CodecContextFreer>;
using UniqueFrame = std::unique_ptr<AVFrame, FrameFreer>;
using UniquePacket = std::unique_ptr<AVPacket, PacketFreer>;
using UniqueSwsContext = std::unique_ptr<SwsContext, SwsContextFreer>;

// Allocators that never return null: allocation failure becomes an exception.
UniqueFrame allocateFrame();
UniquePacket allocatePacket();

}  // namespace framesnap
