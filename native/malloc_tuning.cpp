// glibc's malloc, left to its defaults, holds far more memory than a
// framesnap process needs:
// - Its mmap threshold slides: once a large block (a 6 MB RGB frame) that was
//   mapped on its own is freed, blocks up to that size come from the heaps
//   instead, where freed frames leave holes that are seldom returned to the
//   system. A fixed threshold keeps every large block mapped on its own and
//   returned to the system the moment it is freed.
// - It makes up to 8 heaps ("arenas") per core, one for each thread that
//   meets contention: worker threads, libuv's pool, FFmpeg's frame threads
//   and libvips' threads each keep their own heap's free memory.
// So, once per process, unless the user tunes malloc themselves (any of
// glibc's MALLOC_* variables or glibc.malloc tunables) or sets
// FRAMESNAP_MALLOC_TUNING=0: at most kArenaMax arenas, and a fixed mmap
// threshold of kMmapThreshold. Measured on the benchmark (cases A-E, 2
// workers, 1080p): peak RSS 276-293 MiB -> about 195-200 MiB.
#include "malloc_tuning.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace framesnap {
namespace {

constexpr int kArenaMax = 4;
constexpr int kMmapThreshold = 128 * 1024;

// The variables through which a user tunes glibc's malloc: when one is set,
// the user's choice stands and framesnap changes nothing.
const char* userTuning() {
  static const char* const kVariables[] = {
      "MALLOC_ARENA_MAX",       "MALLOC_ARENA_TEST", "MALLOC_MMAP_THRESHOLD_",
      "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",   "MALLOC_MMAP_MAX_",
  };
  for (const char* name : kVariables) {
    if (std::getenv(name) != nullptr) {
      return name;
    }
  }
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables != nullptr && std::strstr(tunables, "glibc.malloc.") != nullptr) {
    return "GLIBC_TUNABLES";
  }
  return nullptr;
}

MallocTuning apply() {
  MallocTuning tuning;
  const char* optOut = std::getenv("FRAMESNAP_MALLOC_TUNING");
  if (optOut != nullptr && std::strcmp(optOut, "0") == 0) {
    tuning.reason = "FRAMESNAP_MALLOC_TUNING=0";
    return tuning;
  }
#if defined(__GLIBC__)
  if (const char* variable = userTuning()) {
    tuning.reason = std::string(variable) + " is set";
    return tuning;
  }
  // mallopt returns 1 on success. Setting the mmap threshold also fixes the
  // trim threshold at its default (128 KiB): neither slides any more.
  tuning.applied =
      mallopt(M_ARENA_MAX, kArenaMax) == 1 && mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1;
  if (tuning.applied) {
    tuning.arenaMax = kArenaMax;
    tuning.mmapThresholdBytes = kMmapThreshold;
  } else {
    tuning.reason = "mallopt refused";
  }
#else
  tuning.reason = "not glibc";
#endif
  return tuning;
}

}  // namespace

const MallocTuning& tuneMallocOnce() {
  static std::once_flag once;
  static MallocTuning tuning;
  std::call_once(once, [] { tuning = apply(); });
  return tuning;
}

void releaseFreeMemory() {
#if defined(__GLIBC__)
  if (tuneMallocOnce().applied) {
    malloc_trim(0);
  }
#endif
}

bool largeAllocationsAreMapped() {
#if defined(__GLIBC__)
#if __GLIBC_PREREQ(2, 33)
  using Block = std::unique_ptr<void, decltype(&std::free)>;
  {
    // Freeing a mapped 8 MiB block raises a sliding threshold past 1 MiB.
    Block large(std::malloc(8 << 20), &std::free);
    if (!large) {
      return false;
    }
    static_cast<volatile char*>(large.get())[0] = 1;
  }
  const size_t mappedBefore = mallinfo2().hblkhd;
  Block medium(std::malloc(1 << 20), &std::free);
  const size_t mappedAfter = mallinfo2().hblkhd;
  return medium && mappedAfter >= mappedBefore + (1 << 20);
#else
  return false;
#endif
#else
  return false;
#endif
}

}  // namespace framesnap
