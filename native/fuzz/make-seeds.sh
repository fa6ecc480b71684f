#!/usr/bin/env bash
# Makes the fuzzer's seed corpus: tiny clips (64x48, about a second at 10 fps,
# a keyframe every 5 frames) of every codec and container framesnap's tests
# use, and a few more the core's format list accepts, with the ffmpeg CLI.
#
#   native/fuzz/make-seeds.sh DIR
#
# Idempotent: each seed has a sidecar DIR/.recipes/NAME holding the arguments
# it was made with; a seed is remade only when its recipe changes. Encoders
# missing from this ffmpeg are skipped with a note. Nothing is downloaded.
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 DIR" >&2; exit 2; }
dir=$1
mkdir -p "$dir/.recipes"
command -v ffmpeg >/dev/null || { echo "make-seeds: the ffmpeg CLI is missing" >&2; exit 1; }
encoders=$(ffmpeg -hide_banner -encoders 2>/dev/null)

log() { printf 'make-seeds: %s\n' "$*" >&2; }

# seed NAME ffmpeg-args... (the output file is appended; the recipe's format
# comes from NAME's extension unless the args say -f).
seed() {
  local name=$1
  shift
  local recipe="$*"
  if [[ -s $dir/$name && -f $dir/.recipes/$name && $(<"$dir/.recipes/$name") == "$recipe" ]]; then
    return 0
  fi
  local temporary="$dir/.tmp-$$-$name"
  if ffmpeg -nostdin -v error -y "$@" "$temporary" 2>"$dir/.tmp-$$-log"; then
    mv -f "$temporary" "$dir/$name"
    printf '%s' "$recipe" >"$dir/.recipes/$name"
  else
    log "skipped $name: $(head -c 300 "$dir/.tmp-$$-log")"
    rm -f "$temporary"
  fi
  rm -f "$dir/.tmp-$$-log"
}

has_encoder() { grep -qE "^ V[^ ]* +$1 " <<<"$encoders"; }

src=(-f lavfi -i testsrc2=size=64x48:rate=10 -t 1.2)
gop=(-g 5)
x264=(-c:v libx264 -preset veryfast -g 5 -keyint_min 5 -sc_threshold 0 -bf 2 -pix_fmt yuv420p)
x265=(-c:v libx265 -preset veryfast -x265-params keyint=5:min-keyint=5:bframes=2:log-level=error -pix_fmt yuv420p)

# H.264 (B-frames) in every container the tests or users bring.
seed h264.mp4 "${src[@]}" "${x264[@]}"
seed h264-faststart.mp4 "${src[@]}" "${x264[@]}" -movflags +faststart
seed h264-fragmented.mp4 "${src[@]}" "${x264[@]}" -movflags +frag_keyframe+empty_moov
seed h264.mov "${src[@]}" "${x264[@]}"
seed h264.mkv "${src[@]}" "${x264[@]}"
seed h264.ts "${src[@]}" "${x264[@]}"
seed h264.flv "${src[@]}" "${x264[@]}"
seed h264.avi "${src[@]}" "${x264[@]}"
seed h264.h264 "${src[@]}" "${x264[@]}" -f h264
seed h264-start10s.mkv "${src[@]}" "${x264[@]}" -output_ts_offset 10
seed h264-start10s.ts "${src[@]}" "${x264[@]}" -output_ts_offset 10
# Display geometry: anamorphic pixels, a quarter turn, odd sizes, 4:4:4.
seed h264-anamorphic.mp4 "${src[@]}" -vf setsar=2/1 "${x264[@]}"
# (FFmpeg 5.1 writes a display matrix for the rotate tag on a stream copy only.)
[[ -s $dir/h264.mp4 ]] && seed h264-rotated.mp4 -i "$dir/h264.mp4" -c copy -metadata:s:v:0 rotate=90
seed h264-odd444.mp4 -f lavfi -i testsrc2=size=33x25:rate=10,format=yuv444p -t 1.2 \
  -c:v libx264 -preset veryfast -g 5 -pix_fmt yuv444p
seed h264-10bit-hdr.mp4 "${src[@]}" -c:v libx264 -preset veryfast -g 5 -pix_fmt yuv420p10le \
  -color_primaries bt2020 -color_trc smpte2084 -colorspace bt2020nc
# A black first second (the black-frame filter's search), with sound.
seed h264-black-start-aac.mp4 -f lavfi -i color=c=black:s=64x48:r=10:d=0.6 \
  -f lavfi -i testsrc2=s=64x48:r=10:d=0.6 -f lavfi -i sine=frequency=440:duration=1.2 \
  -filter_complex '[0][1]concat=n=2:v=1:a=0,format=yuv420p[v]' -map '[v]' -map 2 \
  "${x264[@]}" -c:a aac -b:a 16k
# HEVC, 8 and 10 bit.
seed hevc.mkv "${src[@]}" "${x265[@]}"
seed hevc.mp4 "${src[@]}" "${x265[@]}" -tag:v hvc1
seed hevc.hevc "${src[@]}" "${x265[@]}" -f hevc
seed hevc10.mkv "${src[@]}" -c:v libx265 -preset veryfast \
  -x265-params keyint=5:log-level=error -pix_fmt yuv420p10le
# MPEG-1/2 and MPEG-4 part 2.
seed mpeg2.ts "${src[@]}" -c:v mpeg2video "${gop[@]}" -bf 2 -b:v 200k -pix_fmt yuv420p
seed mpeg2.mpg "${src[@]}" -c:v mpeg2video "${gop[@]}" -bf 2 -b:v 200k -f vob
seed mpeg2.m2v "${src[@]}" -c:v mpeg2video "${gop[@]}" -bf 2 -b:v 200k -f mpeg2video
seed mpeg1.mpg -f lavfi -i testsrc2=size=64x48:rate=25 -t 0.6 -c:v mpeg1video "${gop[@]}" -b:v 200k -f mpeg
seed mpeg2.mxf -f lavfi -i testsrc2=size=64x48:rate=25 -t 0.6 -c:v mpeg2video -g 5 -b:v 200k
seed mpeg4.avi "${src[@]}" -c:v mpeg4 "${gop[@]}" -bf 1 -q:v 8
seed mpeg4.mp4 "${src[@]}" -c:v mpeg4 "${gop[@]}" -q:v 8
seed mpeg4.m4v "${src[@]}" -c:v mpeg4 "${gop[@]}" -q:v 8 -f m4v
seed h263.3gp -f lavfi -i testsrc2=size=128x96:rate=10 -t 1.2 -c:v h263 "${gop[@]}" -q:v 10
# VP8, VP9 (hidden alt-ref frames), AV1.
seed vp8.webm "${src[@]}" -c:v libvpx -deadline realtime -cpu-used 8 "${gop[@]}" -b:v 100k
seed vp8.ivf "${src[@]}" -c:v libvpx -deadline realtime -cpu-used 8 "${gop[@]}" -b:v 100k
seed vp9.webm "${src[@]}" -c:v libvpx-vp9 -deadline realtime -cpu-used 8 "${gop[@]}" -b:v 100k
seed vp9-altref.webm "${src[@]}" -c:v libvpx-vp9 -deadline good -cpu-used 4 -auto-alt-ref 1 \
  -lag-in-frames 8 "${gop[@]}" -b:v 100k
seed vp9.mp4 "${src[@]}" -c:v libvpx-vp9 -deadline realtime -cpu-used 8 "${gop[@]}" -b:v 100k
seed vp9.ivf "${src[@]}" -c:v libvpx-vp9 -deadline realtime -cpu-used 8 "${gop[@]}" -b:v 100k
if has_encoder libaom-av1; then
  av1=(-c:v libaom-av1 -cpu-used 8 -usage realtime "${gop[@]}" -b:v 100k)
  seed av1.mkv "${src[@]}" "${av1[@]}"
  seed av1.mp4 "${src[@]}" "${av1[@]}"
  seed av1.ivf "${src[@]}" "${av1[@]}"
  seed av1.obu "${src[@]}" "${av1[@]}" -f obu
else
  log "skipped the AV1 seeds: no libaom-av1 encoder"
fi
# Intra-only codecs.
seed mjpeg.avi "${src[@]}" -c:v mjpeg -q:v 10 -pix_fmt yuvj420p
seed mjpeg.mjpeg "${src[@]}" -c:v mjpeg -q:v 10 -pix_fmt yuvj420p -f mjpeg
seed mjpeg.mov "${src[@]}" -c:v mjpeg -q:v 10 -pix_fmt yuvj422p
seed prores.mov -f lavfi -i testsrc2=size=64x48:rate=10 -t 0.4 -c:v prores_ks -profile:v 0
seed ffv1.nut "${src[@]}" -c:v ffv1
seed ffv1.mkv "${src[@]}" -c:v ffv1 -level 3 -slices 4
seed rawvideo.y4m -f lavfi -i testsrc2=size=32x24:rate=10 -t 0.3 -pix_fmt yuv420p
seed gif.gif -f lavfi -i testsrc2=size=32x24:rate=10 -t 0.5 -pix_fmt rgb8
seed png.mov -f lavfi -i testsrc2=size=32x24:rate=10 -t 0.3 -c:v png
# Other containers on the core's list.
seed theora.ogg "${src[@]}" -c:v libtheora "${gop[@]}" -q:v 3
seed wmv2.asf "${src[@]}" -c:v wmv2 "${gop[@]}" -q:v 10
seed wmv1.wtv "${src[@]}" -c:v mpeg2video "${gop[@]}" -b:v 200k -f wtv
seed rv20.rm -f lavfi -i testsrc2=size=64x48:rate=10 -t 1.2 -c:v rv20 "${gop[@]}" -q:v 10
seed flv1.flv "${src[@]}" -c:v flv "${gop[@]}" -q:v 10
# Damaged: the first 40% of an MP4 (no moov), and nothing at all.
if [[ -s $dir/h264.mp4 ]]; then
  size=$(stat -c %s "$dir/h264.mp4")
  if [[ ! -s $dir/h264-truncated.mp4 || $dir/h264.mp4 -nt $dir/h264-truncated.mp4 ]]; then
    head -c $((size * 4 / 10)) "$dir/h264.mp4" >"$dir/h264-truncated.mp4"
  fi
fi
[[ -f $dir/empty ]] || : >"$dir/empty"
