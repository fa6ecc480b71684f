// RemoteReader: reads one http(s) URL for FFmpeg by bounded `Range: a-b`
// requests into a small block cache, over one libcurl handle (one connection,
// reused across seeks). RemoteInput wraps it in the AVIOContext a Demuxer
// reads through. FFmpeg's own http protocol is never used: its defaults
// verify no certificate, wait forever, ask open-ended ranges, open a new
// connection per seek and follow redirects anywhere.
//
// Redirects: only the opening request may be redirected (301, 302, 303, 307,
// 308 with a Location), at most kMaxRedirects times; every hop is checked as
// the first URL was (http or https, no user name or password, its host's
// addresses checked and the checked addresses pinned with CURLOPT_RESOLVE), and
// a redirect from https to http is refused (PermissionDenied: the answer
// would not be protected). Later range requests go to the final URL; a
// redirect in the middle of the file is ResourceContentBad.
//
// Failures worth retrying: HTTP 408, 429, 500, 502, 503 and 504, a reset or
// cut connection, a refused or timed-out connection, a transfer stalled
// below the low-speed limit, a temporary DNS failure (EAI_AGAIN). Each is
// tried `retries` more times, then is TransientNetwork ("the server answered
// HTTP 503 (3 tries)"). The caller's deadline stays TimedOut, a cancel Aborted.
//
// Not thread-safe: one per Demuxer. Messages never contain the URL (a
// presigned URL carries its signature).
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "ffmpeg_ptr.h"
#include "interruption.h"

namespace framesnap {

// Redirects followed at most, from the first URL to the last.
constexpr int kMaxRedirects = 5;

struct RemoteOptions {
  // Loopback, private, link-local and unique-local addresses are refused
  // unless this is set (tests, on-premise servers).
  bool allowPrivateNetwork = false;
  // Hosts allowed on such addresses even without allowPrivateNetwork: an
  // operator's own storage endpoints ("minio.internal", "10.0.0.5", "::1").
  // Matched, without regard to case, against the host as written in the URL
  // or redirect, not against its addresses: a redirect to any other host on a
  // private network is still refused.
  std::vector<std::string> allowedPrivateHosts;
  // A PEM file of the certificate authorities to trust instead of the
  // system's store (tests with a throwaway certificate); empty: the system's.
  std::string caFile;
  long connectTimeoutMs = 10000;
  // A transfer slower than this many bytes per second for lowSpeedTimeS
  // seconds is given up, and tried again (a stalled server).
  long lowSpeedBytesPerSecond = 1024;
  long lowSpeedTimeS = 10;
  // Tries after the first for a failure worth retrying (see the top).
  int retries = 2;
  // The wait before the n-th retry is n times this.
  long retryBackoffMs = 200;
  // The cache: `cachedBlocks` blocks of `blockSize` bytes, least recently used out.
  size_t blockSize = 512 * 1024;
  size_t cachedBlocks = 8;
  // Read-ahead, within the bound readAheadUntil() gives: a block missed
  // right after the last one fetched is fetched with the blocks after it in
  // one request, the window doubling from 1 up to this many blocks (and at
  // most half the cache); any other miss fetches one block.
  size_t readAheadBlocks = 4;

  bool operator==(const RemoteOptions& other) const;
  bool operator!=(const RemoteOptions& other) const { return !(*this == other); }
};

// The address checks, exposed for the tests: true for an address a request
// may not reach without allowPrivateNetwork. `address` is numeric text
// ("10.1.2.3", "fe80::1"); anything else is refused.
bool isRefusedAddress(const std::string& address);

class RemoteReader {
 public:
  // Checks the URL (http or https only) and its host's addresses, then reads
  // the first block, following redirects: a missing file, a refused access,
  // a refused redirect or a server that ignores ranges fails here.
  // `interruption` is watched for the reader's life (kept by reference: it
  // must outlive the reader).
  RemoteReader(const std::string& url, const RemoteOptions& options,
               const Interruption& interruption);
  ~RemoteReader();
  RemoteReader(const RemoteReader&) = delete;
  RemoteReader& operator=(const RemoteReader&) = delete;

  // The file's size from Content-Range, or -1 when the server did not say.
  int64_t size() const { return size_; }
  // Copies up to `length` bytes at `position` into `out`; 0 at the end of
  // the file. Throws SnapshotFailure; after a failure of the server's (not a
  // cancel or deadline) every later call throws it again without asking.
  size_t readAt(int64_t position, uint8_t* out, size_t length);
  // How far reads are known to go on through the file (the decoder's
  // caller knows from the index, or from a dense series): sequential misses
  // may read ahead blocks that start before `end` (RemoteOptions::
  // readAheadBlocks). 0, the default, turns read-ahead off: bytes read ahead
  // of where a decode stops are paid for and thrown away.
  void readAheadUntil(int64_t end) { readAheadEnd_ = end; }

  // What the reader cost so far: HTTP requests made and body bytes received.
  int requests() const { return requests_; }
  int64_t bytesReceived() const { return bytesReceived_; }

 private:
  struct Block {
    int64_t index;
    std::vector<uint8_t> bytes;
  };
  struct Transfer;
  struct Handle;

  struct Attempt;

  const Block& block(int64_t index);
  size_t blocksToFetch(int64_t index);
  std::vector<uint8_t> fetch(int64_t first, int64_t last);
  Attempt fetchOnce(int64_t first, int64_t last);
  // Checks `url` (a redirect's target, absolute, when `redirected`),
  // resolves, checks and pins its host, and makes it the URL requested from now on.
  void useUrl(const std::string& url, bool redirected);
  // Follows a redirect of the opening request to `location`.
  void follow(const std::string& location);
  std::vector<std::string> checkedAddresses(const std::string& host, const std::string& port,
                                            bool redirected);
  void waitBeforeRetry(int attempt) const;

  RemoteOptions options_;
  const Interruption& interruption_;
  std::unique_ptr<Handle> handle_;
  std::list<Block> blocks_;  // most recently used first
  int64_t size_ = -1;
  bool opened_ = false;  // the first block came: no more redirects
  int64_t readAheadEnd_ = 0;
  std::exception_ptr broken_;    // the failure every read throws again
  int64_t nextSequential_ = -1;  // the block after the last one fetched
  size_t window_ = 1;            // blocks the next sequential miss fetches
  int requests_ = 0;
  int64_t bytesReceived_ = 0;
};

// The AVIOContext over a RemoteReader. The reader's failures inside FFmpeg's
// callbacks are kept and thrown again by rethrowFailure(), so the caller sees
// the reader's code and message rather than FFmpeg's "I/O error".
class RemoteInput {
 public:
  RemoteInput(const std::string& url, const RemoteOptions& options,
              const Interruption& interruption);
  ~RemoteInput();
  RemoteInput(const RemoteInput&) = delete;
  RemoteInput& operator=(const RemoteInput&) = delete;

  AVIOContext* context() const { return context_; }
  const RemoteReader& reader() const { return reader_; }
  RemoteReader& reader() { return reader_; }
  // Throws the failure a callback kept, if any (and forgets it).
  void rethrowFailure();

 private:
  static int read(void* opaque, uint8_t* buffer, int size);
  static int64_t seek(void* opaque, int64_t offset, int whence);
  int failed();

  RemoteReader reader_;
  int64_t position_ = 0;
  std::exception_ptr failure_;
  AVIOContext* context_ = nullptr;
};

}  // namespace framesnap
