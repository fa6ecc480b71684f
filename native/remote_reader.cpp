#include "remote_reader.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "snapshot_failure.h"

namespace framesnap {
namespace {

struct EasyCleanup {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct ListFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
struct UrlCleanup {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
struct CurlTextFree {
  void operator()(char* text) const { curl_free(text); }
};
struct AddressInfoFree {
  void operator()(addrinfo* info) const { freeaddrinfo(info); }
};
using UniqueEasy = std::unique_ptr<CURL, EasyCleanup>;
using UniqueList = std::unique_ptr<curl_slist, ListFree>;
using UniqueUrl = std::unique_ptr<CURLU, UrlCleanup>;
using UniqueCurlText = std::unique_ptr<char, CurlTextFree>;
using UniqueAddressInfo = std::unique_ptr<addrinfo, AddressInfoFree>;

// libcurl's global state, set up once per process before the first handle
// (curl_global_init is not safe to race with itself).
void initializeCurl() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw SnapshotFailure(ErrorCode::Internal, "cannot initialize libcurl");
    }
  });
}

std::string urlPart(CURLU* url, CURLUPart part, unsigned flags) {
  char* raw = nullptr;
  if (curl_url_get(url, part, &raw, flags) != CURLUE_OK || raw == nullptr) {
    return "";
  }
  const UniqueCurlText text(raw);
  return text.get();
}

bool isRefusedIpv4(const uint8_t* a) {
  return a[0] == 0 ||                             // 0.0.0.0/8, "this network"
         a[0] == 127 ||                           // loopback
         a[0] == 10 ||                            // private
         (a[0] == 172 && (a[1] & 0xf0) == 16) ||  // private 172.16/12
         (a[0] == 192 && a[1] == 168) ||          // private
         (a[0] == 169 && a[1] == 254) ||          // link-local, cloud metadata
         (a[0] == 100 && (a[1] & 0xc0) == 64) ||  // carrier-grade NAT 100.64/10
         a[0] >= 224;                             // multicast and reserved
}

bool isRefusedSocketAddress(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    return isRefusedIpv4(reinterpret_cast<const uint8_t*>(&v4->sin_addr.s_addr));
  }
  if (address->sa_family == AF_INET6) {
    const uint8_t* a = reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr.s6_addr;
    static const uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a, kMappedPrefix, 12) == 0) {
      return isRefusedIpv4(a + 12);  // ::ffff:a.b.c.d is a.b.c.d
    }
    static const uint8_t kZero[15] = {};
    if (std::memcmp(a, kZero, 15) == 0 && (a[15] == 0 || a[15] == 1)) {
      return true;  // :: and ::1
    }
    return (a[0] & 0xfe) == 0xfc ||                    // unique-local fc00::/7
           (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) ||  // link-local fe80::/10
           a[0] == 0xff;                               // multicast
  }
  return true;
}

std::string numericAddress(const sockaddr* address, socklen_t length) {
  char text[NI_MAXHOST] = {};
  if (getnameinfo(address, length, text, sizeof text, nullptr, 0, NI_NUMERICHOST) != 0) {
    return "";
  }
  return text;
}

bool startsWithNoCase(const char* text, size_t length, const char* prefix) {
  const size_t prefixLength = std::strlen(prefix);
  if (length < prefixLength) {
    return false;
  }
  for (size_t i = 0; i < prefixLength; ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) {
      return false;
    }
  }
  return true;
}

bool equalNoCase(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// " (3 tries)", " (1 try)": how often a failure worth retrying was met.
std::string tries(int count) {
  return " (" + std::to_string(count) + (count == 1 ? " try)" : " tries)");
}

// "bytes 100-199/5000" -> 100, 199, 5000 (total -1 for "*"). False when malformed.
bool parseContentRange(const std::string& value, int64_t& first, int64_t& last, int64_t& total) {
  long long a = 0;
  long long b = 0;
  char totalText[32] = {};
  if (std::sscanf(value.c_str(), "bytes %lld-%lld/%31s", &a, &b, totalText) != 3 || a < 0 ||
      b < a) {
    return false;
  }
  first = a;
  last = b;
  if (std::strcmp(totalText, "*") == 0) {
    total = -1;
    return true;
  }
  char* end = nullptr;
  errno = 0;
  const long long parsed = std::strtoll(totalText, &end, 10);
  if (errno != 0 || *end != '\0' || parsed <= b) {
    return false;
  }
  total = parsed;
  return true;
}

}  // namespace

bool RemoteOptions::operator==(const RemoteOptions& other) const {
  return allowPrivateNetwork == other.allowPrivateNetwork &&
         allowedPrivateHosts == other.allowedPrivateHosts && caFile == other.caFile &&
         connectTimeoutMs == other.connectTimeoutMs &&
         lowSpeedBytesPerSecond == other.lowSpeedBytesPerSecond &&
         lowSpeedTimeS == other.lowSpeedTimeS && retries == other.retries &&
         retryBackoffMs == other.retryBackoffMs && blockSize == other.blockSize &&
         cachedBlocks == other.cachedBlocks && readAheadBlocks == other.readAheadBlocks;
}

bool isRefusedAddress(const std::string& address) {
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST;
  hints.ai_family = AF_UNSPEC;
  addrinfo* raw = nullptr;
  if (getaddrinfo(address.c_str(), nullptr, &hints, &raw) != 0 || raw == nullptr) {
    return true;
  }
  const UniqueAddressInfo info(raw);
  return isRefusedSocketAddress(info->ai_addr);
}

// The easy handle and what its options point to (curl keeps the pointers).
struct RemoteReader::Handle {
  UniqueEasy easy;
  UniqueList resolve;
  UniqueUrl parsed;  // the URL requested, to resolve a relative Location against
  std::string url;
  std::string scheme;
  // "host:port" -> the addresses checked for it, as CURLOPT_RESOLVE lists them
  // ("" when the URL names an address).
  std::map<std::string, std::string> pins;
  char error[CURL_ERROR_SIZE] = {};
};

// One response being received: its status line resets what an earlier
// response on the same transfer (a 100 Continue) left.
struct RemoteReader::Transfer {
  CURL* easy = nullptr;
  const Interruption* interruption = nullptr;
  size_t limit = 0;  // the most body bytes taken
  std::string contentRange;
  std::string location;
  std::vector<uint8_t> body;
  bool overLimit = false;

  static std::string headerValue(const char* data, size_t length, size_t nameLength) {
    std::string value(data + nameLength, length - nameLength);
    const size_t begin = value.find_first_not_of(" \t");
    const size_t end = value.find_last_not_of(" \t\r\n");
    return begin == std::string::npos ? "" : value.substr(begin, end - begin + 1);
  }

  static size_t onHeader(char* data, size_t size, size_t count, void* self) {
    auto* transfer = static_cast<Transfer*>(self);
    const size_t length = size * count;
    if (startsWithNoCase(data, length, "http/")) {
      transfer->contentRange.clear();
      transfer->location.clear();
    } else if (startsWithNoCase(data, length, "content-range:")) {
      transfer->contentRange = headerValue(data, length, 14);
    } else if (startsWithNoCase(data, length, "location:")) {
      transfer->location = headerValue(data, length, 9);
    }
    return length;
  }

  static size_t onBody(char* data, size_t size, size_t count, void* self) {
    auto* transfer = static_cast<Transfer*>(self);
    const size_t length = size * count;
    long status = 0;
    curl_easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200 && status != 206) {
      return length;  // an error page or a redirect's: not kept
    }
    if (transfer->body.size() + length > transfer->limit) {
      // More than asked for (a server ignoring the range): stop reading now
      // rather than download the whole file.
      transfer->overLimit = true;
      return 0;
    }
    transfer->body.insert(transfer->body.end(), data, data + length);
    return length;
  }

  // Called by curl about once a second and on every chunk: a cancelled or
  // late call stops the transfer at once.
  static int onProgress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<Transfer*>(self)->interruption->requested() ? 1 : 0;
  }
};

// What one request came to: bytes, or a failure worth another try (`detail`
// says what failed), or a redirect (`detail` is the Location).
struct RemoteReader::Attempt {
  enum class Kind { Done, Retry, Redirect };
  Kind kind = Kind::Done;
  std::vector<uint8_t> bytes;
  std::string detail;
};

RemoteReader::RemoteReader(const std::string& url, const RemoteOptions& options,
                           const Interruption& interruption)
    : options_(options), interruption_(interruption), handle_(std::make_unique<Handle>()) {
  if (options_.blockSize == 0 || options_.cachedBlocks == 0) {
    throw SnapshotFailure(ErrorCode::InvalidParameter, "the remote read cache has no room");
  }
  initializeCurl();
  handle_->easy.reset(curl_easy_init());
  if (!handle_->easy) {
    throw SnapshotFailure(ErrorCode::Internal, "cannot create an HTTP client");
  }
  CURL* easy = handle_->easy.get();
  // No proxy, whatever http_proxy and its kin say: the checked address is
  // the one connected to.
  curl_easy_setopt(easy, CURLOPT_PROXY, "");
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  // Redirects are followed here, hop by hop, each checked (useUrl).
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.caFile.empty()) {
    curl_easy_setopt(easy, CURLOPT_CAINFO, options_.caFile.c_str());
  }
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, options_.connectTimeoutMs);
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, options_.lowSpeedBytesPerSecond);
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, options_.lowSpeedTimeS);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, handle_->error);
  // No Accept-Encoding: a compressed body would not be the bytes of the range.
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "framesnap");

  useUrl(url, false);
  // The first block: the size, any redirect and any refusal come now.
  block(0);
  opened_ = true;
}

RemoteReader::~RemoteReader() = default;

void RemoteReader::useUrl(const std::string& url, bool redirected) {
  UniqueUrl parsed(curl_url());
  if (!parsed) {
    throw SnapshotFailure(ErrorCode::Internal, "out of memory reading the URL");
  }
  if (curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME) !=
      CURLUE_OK) {
    throw SnapshotFailure(ErrorCode::InvalidParameter, redirected
                                                           ? "the server redirected to a URL "
                                                             "that is not valid"
                                                           : "the URL is not valid");
  }
  const std::string scheme = urlPart(parsed.get(), CURLUPART_SCHEME, 0);
  if (scheme != "http" && scheme != "https") {
    throw SnapshotFailure(ErrorCode::InvalidParameter,
                          redirected ? "the server redirected to a URL that is not http or https"
                                     : "only http and https URLs can be read");
  }
  if (redirected && handle_->scheme == "https" && scheme == "http") {
    throw SnapshotFailure(ErrorCode::PermissionDenied,
                          "the server redirected from https to http, which is refused (the "
                          "answer would not be protected)");
  }
  if (!urlPart(parsed.get(), CURLUPART_USER, 0).empty() ||
      !urlPart(parsed.get(), CURLUPART_PASSWORD, 0).empty()) {
    throw SnapshotFailure(ErrorCode::InvalidParameter,
                          redirected ? "the server redirected to a URL with a user name or "
                                       "password, which is not accepted"
                                     : "a URL with a user name or password is not accepted");
  }
  std::string host = urlPart(parsed.get(), CURLUPART_HOST, 0);
  const std::string port = urlPart(parsed.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // an IPv6 literal
  }
  if (host.empty() || host.find('%') != std::string::npos) {
    throw SnapshotFailure(ErrorCode::InvalidParameter,
                          redirected ? "the server redirected to a host that is not valid"
                                     : "the URL's host is not valid");
  }

  // Resolve once, check every address, and make curl connect only to the
  // ones checked (CURLOPT_RESOLVE; it tries them in turn, IPv6 and IPv4), so a
  // second lookup cannot land elsewhere. A host and port met before (an
  // earlier hop) keep the addresses checked then.
  const std::string key = host + ":" + port;
  if (handle_->pins.find(key) == handle_->pins.end()) {
    const std::vector<std::string> checked = checkedAddresses(host, port, redirected);
    // An address written in the URL is connected to as is; a name is pinned.
    std::string pinned;
    if (!(checked.size() == 1 && checked.front() == host)) {
      for (const std::string& address : checked) {
        pinned += (pinned.empty() ? "" : ",") +
                  (address.find(':') != std::string::npos ? "[" + address + "]" : address);
      }
    }
    handle_->pins[key] = pinned;
  }
  UniqueList resolve;
  for (const auto& [hostAndPort, addresses] : handle_->pins) {
    if (addresses.empty()) {
      continue;
    }
    const std::string pin = hostAndPort + ":" + addresses;
    curl_slist* appended = curl_slist_append(resolve.get(), pin.c_str());
    if (appended == nullptr) {
      throw SnapshotFailure(ErrorCode::Internal, "out of memory reading the URL");
    }
    resolve.release();
    resolve.reset(appended);
  }

  CURL* easy = handle_->easy.get();
  handle_->url = redirected ? urlPart(parsed.get(), CURLUPART_URL, 0) : url;
  handle_->scheme = scheme;
  handle_->parsed = std::move(parsed);
  curl_easy_setopt(easy, CURLOPT_URL, handle_->url.c_str());
  curl_easy_setopt(easy, CURLOPT_RESOLVE, resolve.get());
  handle_->resolve = std::move(resolve);
}

std::vector<std::string> RemoteReader::checkedAddresses(const std::string& host,
                                                        const std::string& port, bool redirected) {
  const std::string whose = redirected ? "the host the server redirected to" : "the URL's host";
  bool allowed = options_.allowPrivateNetwork;
  for (std::string listed : options_.allowedPrivateHosts) {
    if (listed.size() >= 2 && listed.front() == '[' && listed.back() == ']') {
      listed = listed.substr(1, listed.size() - 2);
    }
    allowed = allowed || equalNoCase(listed, host);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  for (int attempt = 0;; ++attempt) {
    const int resolved = getaddrinfo(host.c_str(), port.c_str(), &hints, &raw);
    interruption_.throwIfRequested();
    if (resolved == 0 && raw != nullptr) {
      break;
    }
    if (resolved != EAI_AGAIN) {
      throw SnapshotFailure(ErrorCode::ResourceNotFound,
                            "cannot resolve " + whose + ": " + gai_strerror(resolved));
    }
    // A temporary failure of the name server: worth another try.
    if (attempt >= options_.retries) {
      throw SnapshotFailure(
          ErrorCode::TransientNetwork,
          "cannot resolve " + whose + ": " + gai_strerror(resolved) + tries(attempt + 1));
    }
    waitBeforeRetry(attempt + 1);
  }
  const UniqueAddressInfo addresses(raw);
  std::vector<std::string> checked;
  for (const addrinfo* entry = addresses.get(); entry != nullptr; entry = entry->ai_next) {
    if (!allowed && isRefusedSocketAddress(entry->ai_addr)) {
      // A host with one refused address is refused whole: which address a
      // client uses is not in its user's hands.
      throw SnapshotFailure(
          ErrorCode::PermissionDenied,
          std::string(redirected ? "the server redirected to a host" : "the URL's host is") +
              " on a loopback, private or link-local network, which is "
              "refused unless allowPrivateNetwork is set");
    }
    const std::string address = numericAddress(entry->ai_addr, entry->ai_addrlen);
    if (!address.empty() && std::find(checked.begin(), checked.end(), address) == checked.end()) {
      checked.push_back(address);
    }
  }
  if (checked.empty()) {
    throw SnapshotFailure(ErrorCode::ResourceNotFound, "cannot resolve " + whose);
  }
  return checked;
}

void RemoteReader::follow(const std::string& location) {
  const UniqueUrl next(curl_url_dup(handle_->parsed.get()));
  if (!next) {
    throw SnapshotFailure(ErrorCode::Internal, "out of memory reading the URL");
  }
  // Relative to the URL that was redirected.
  if (curl_url_set(next.get(), CURLUPART_URL, location.c_str(), CURLU_NON_SUPPORT_SCHEME) !=
      CURLUE_OK) {
    throw SnapshotFailure(ErrorCode::InvalidParameter,
                          "the server redirected to a URL that is not valid");
  }
  useUrl(urlPart(next.get(), CURLUPART_URL, 0), true);
}

size_t RemoteReader::readAt(int64_t position, uint8_t* out, size_t length) {
  if (broken_) {
    // FFmpeg may try again after a failed read (another position, the same
    // block): the server is not asked again.
    std::rethrow_exception(broken_);
  }
  if (position < 0 || length == 0 || (size_ >= 0 && position >= size_)) {
    return 0;
  }
  const auto blockSize = static_cast<int64_t>(options_.blockSize);
  const int64_t index = position / blockSize;
  const Block* fetched = nullptr;
  try {
    fetched = &block(index);
  } catch (const SnapshotFailure& failure) {
    // The server's failures stick; a cancel or a deadline is the call's own.
    if (failure.code() != ErrorCode::Aborted && failure.code() != ErrorCode::TimedOut) {
      broken_ = std::current_exception();
    }
    throw;
  }
  const Block& found = *fetched;
  const auto offset = static_cast<size_t>(position - index * blockSize);
  if (offset >= found.bytes.size()) {
    return 0;
  }
  const size_t count = std::min(length, found.bytes.size() - offset);
  std::memcpy(out, found.bytes.data() + offset, count);
  return count;
}

// How many blocks from `index` on the next request asks for: the read-ahead
// window when reads go on from the last block fetched, else one; never a
// block past the end, one starting at or after readAheadUntil's bound, or
// one already cached.
size_t RemoteReader::blocksToFetch(int64_t index) {
  const size_t most =
      std::max<size_t>(1, std::min(options_.readAheadBlocks, options_.cachedBlocks / 2));
  window_ = index == nextSequential_ ? std::min(window_ * 2, most) : 1;
  const auto blockSize = static_cast<int64_t>(options_.blockSize);
  size_t count = 1;
  while (count < window_) {
    const int64_t next = index + static_cast<int64_t>(count);
    if (next * blockSize >= readAheadEnd_ || (size_ >= 0 && next * blockSize >= size_) ||
        std::any_of(blocks_.begin(), blocks_.end(),
                    [next](const Block& cached) { return cached.index == next; })) {
      break;
    }
    ++count;
  }
  return count;
}

const RemoteReader::Block& RemoteReader::block(int64_t index) {
  for (auto it = blocks_.begin(); it != blocks_.end(); ++it) {
    if (it->index == index) {
      blocks_.splice(blocks_.begin(), blocks_, it);
      return blocks_.front();
    }
  }
  const size_t count = blocksToFetch(index);
  const auto blockSize = static_cast<int64_t>(options_.blockSize);
  const int64_t first = index * blockSize;
  int64_t last = first + static_cast<int64_t>(count) * blockSize - 1;
  if (size_ >= 0) {
    last = std::min(last, size_ - 1);
  }
  std::vector<uint8_t> bytes;
  if (size_ < 0 || first < size_) {
    bytes = fetch(first, last);
  }
  nextSequential_ = index + static_cast<int64_t>(count);
  // The blocks read ahead go in behind the one asked for, which is the most
  // recently used; the least recently used make room.
  for (size_t i = count; i-- > 1;) {
    const size_t begin = i * options_.blockSize;
    if (begin < bytes.size()) {
      const size_t end = std::min(bytes.size(), begin + options_.blockSize);
      blocks_.push_front(Block{index + static_cast<int64_t>(i),
                               std::vector<uint8_t>(bytes.begin() + static_cast<ptrdiff_t>(begin),
                                                    bytes.begin() + static_cast<ptrdiff_t>(end))});
    }
  }
  if (bytes.size() > options_.blockSize) {
    bytes.resize(options_.blockSize);
    bytes.shrink_to_fit();
  }
  blocks_.push_front(Block{index, std::move(bytes)});
  while (blocks_.size() > options_.cachedBlocks) {
    blocks_.pop_back();
  }
  return blocks_.front();
}

std::vector<uint8_t> RemoteReader::fetch(int64_t first, int64_t last) {
  int redirects = 0;
  for (int attempt = 0;;) {
    Attempt outcome = fetchOnce(first, last);
    switch (outcome.kind) {
      case Attempt::Kind::Done:
        return std::move(outcome.bytes);
      case Attempt::Kind::Redirect:
        if (++redirects > kMaxRedirects) {
          throw SnapshotFailure(
              ErrorCode::InvalidParameter,
              "too many redirects (more than " + std::to_string(kMaxRedirects) + ")");
        }
        follow(outcome.detail);
        break;
      case Attempt::Kind::Retry:
        if (attempt >= options_.retries) {
          throw SnapshotFailure(ErrorCode::TransientNetwork, outcome.detail + tries(attempt + 1));
        }
        ++attempt;
        waitBeforeRetry(attempt);
        break;
    }
  }
}

void RemoteReader::waitBeforeRetry(int attempt) const {
  // In small steps, so a cancel does not wait for the backoff.
  const auto until = std::chrono::steady_clock::now() +
                     std::chrono::milliseconds(options_.retryBackoffMs * attempt);
  while (std::chrono::steady_clock::now() < until) {
    interruption_.throwIfRequested();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  interruption_.throwIfRequested();
}

RemoteReader::Attempt RemoteReader::fetchOnce(int64_t first, int64_t last) {
  interruption_.throwIfRequested();
  CURL* easy = handle_->easy.get();
  Transfer transfer;
  transfer.easy = easy;
  transfer.interruption = &interruption_;
  transfer.limit = static_cast<size_t>(last - first + 1);
  transfer.body.reserve(transfer.limit);
  const std::string range = std::to_string(first) + "-" + std::to_string(last);
  curl_easy_setopt(easy, CURLOPT_RANGE, range.c_str());
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Transfer::onHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Transfer::onBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, &Transfer::onProgress);
  curl_easy_setopt(easy, CURLOPT_XFERINFODATA, &transfer);
  handle_->error[0] = '\0';
  ++requests_;
  const CURLcode result = curl_easy_perform(easy);
  bytesReceived_ += static_cast<int64_t>(transfer.body.size());
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);

  if (result == CURLE_ABORTED_BY_CALLBACK) {
    interruption_.throwIfRequested();
  }
  if (result == CURLE_WRITE_ERROR && transfer.overLimit) {
    if (status == 200) {
      throw SnapshotFailure(ErrorCode::ResourceContentBad,
                            "the server ignores range requests (it answered with the whole file); "
                            "only servers that answer byte ranges can be read");
    }
    throw SnapshotFailure(ErrorCode::ResourceContentBad,
                          "the server sent more than the range asked for");
  }
  Attempt retry{Attempt::Kind::Retry, {}, {}};
  switch (result) {
    case CURLE_OK:
      break;
    case CURLE_OPERATION_TIMEDOUT:
      // The connect timeout or the low-speed limit (the caller's deadline
      // stops a transfer through onProgress instead): a server that may answer
      // on another try.
      retry.detail = std::strstr(handle_->error, "too slow") != nullptr
                         ? "the server stopped sending (less than " +
                               std::to_string(options_.lowSpeedBytesPerSecond) + " bytes/s for " +
                               std::to_string(options_.lowSpeedTimeS) + " s)"
                         : "the connection to the server timed out";
      return retry;
    case CURLE_COULDNT_CONNECT: {
      long osError = 0;
      curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &osError);
      retry.detail =
          std::string("cannot connect to the server: ") +
          (osError != 0 ? std::strerror(static_cast<int>(osError)) : curl_easy_strerror(result));
      return retry;
    }
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CONNECT_ERROR:
      throw SnapshotFailure(ErrorCode::PermissionDenied,
                            std::string("the server's TLS certificate is not trusted or its TLS "
                                        "connection failed: ") +
                                curl_easy_strerror(result));
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      // A reset or cut connection: worth another try on a fresh connection.
      retry.detail = std::string("cannot read from the server: ") + curl_easy_strerror(result);
      return retry;
    default:
      throw SnapshotFailure(ErrorCode::Internal, std::string("cannot read from the server: ") +
                                                     curl_easy_strerror(result));
  }

  if (status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
      status == 504) {
    retry.detail = "the server answered HTTP " + std::to_string(status);
    return retry;
  }
  if (status >= 300 && status < 400) {
    if (opened_) {
      throw SnapshotFailure(
          ErrorCode::ResourceContentBad,
          "the server redirected in the middle of the file (HTTP " + std::to_string(status) + ")");
    }
    const bool redirect =
        status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    if (!redirect || transfer.location.empty()) {
      throw SnapshotFailure(
          ErrorCode::InvalidParameter,
          "the server answered HTTP " + std::to_string(status) + " without a redirect to follow");
    }
    return Attempt{Attempt::Kind::Redirect, {}, transfer.location};
  }
  if (status == 404 || status == 410) {
    throw SnapshotFailure(ErrorCode::ResourceNotFound,
                          "the server has no such file (HTTP " + std::to_string(status) + ")");
  }
  if (status == 401 || status == 403) {
    throw SnapshotFailure(ErrorCode::PermissionDenied,
                          "the server refused access (HTTP " + std::to_string(status) + ")");
  }
  if (status == 416) {
    // Asked from past the end (the size was not known yet): nothing there.
    return {};
  }
  if (status == 200) {
    // The whole file, small enough to fit the range asked for: its size is known now.
    size_ = static_cast<int64_t>(transfer.body.size());
    if (first >= size_) {
      return {};
    }
    return Attempt{Attempt::Kind::Done,
                   std::vector<uint8_t>(transfer.body.begin() + first, transfer.body.end()),
                   {}};
  }
  if (status != 206) {
    throw SnapshotFailure(ErrorCode::Internal,
                          "the server answered HTTP " + std::to_string(status));
  }
  int64_t rangeFirst = 0;
  int64_t rangeLast = 0;
  int64_t total = 0;
  if (!parseContentRange(transfer.contentRange, rangeFirst, rangeLast, total) ||
      rangeFirst != first || rangeLast > last ||
      static_cast<int64_t>(transfer.body.size()) != rangeLast - rangeFirst + 1 ||
      (size_ >= 0 && total >= 0 && total != size_)) {
    throw SnapshotFailure(ErrorCode::ResourceContentBad,
                          "the server's answer does not match the range asked for (Content-Range "
                          "or length is wrong)");
  }
  if (total >= 0) {
    size_ = total;
  }
  return Attempt{Attempt::Kind::Done, std::move(transfer.body), {}};
}

RemoteInput::RemoteInput(const std::string& url, const RemoteOptions& options,
                         const Interruption& interruption)
    : reader_(url, options, interruption) {
  // FFmpeg's own read buffer; libavformat may replace it, so the one to free
  // is context_->buffer at the end, not this pointer.
  constexpr int kBufferSize = 64 * 1024;
  auto* buffer = static_cast<unsigned char*>(av_malloc(kBufferSize));
  if (buffer == nullptr) {
    throw SnapshotFailure(ErrorCode::Internal, "out of memory opening the URL");
  }
  context_ = avio_alloc_context(buffer, kBufferSize, 0, this, &RemoteInput::read, nullptr,
                                &RemoteInput::seek);
  if (context_ == nullptr) {
    av_free(buffer);
    throw SnapshotFailure(ErrorCode::Internal, "out of memory opening the URL");
  }
}

RemoteInput::~RemoteInput() {
  if (context_ != nullptr) {
    av_freep(&context_->buffer);
    avio_context_free(&context_);
  }
}

void RemoteInput::rethrowFailure() {
  if (failure_) {
    std::exception_ptr failure = failure_;
    failure_ = nullptr;
    std::rethrow_exception(failure);
  }
}

int RemoteInput::failed() {
  failure_ = std::current_exception();
  try {
    throw;
  } catch (const SnapshotFailure& failure) {
    if (failure.code() == ErrorCode::Aborted || failure.code() == ErrorCode::TimedOut) {
      return AVERROR_EXIT;
    }
  } catch (...) {
  }
  return AVERROR(EIO);
}

int RemoteInput::read(void* opaque, uint8_t* buffer, int size) {
  auto* self = static_cast<RemoteInput*>(opaque);
  try {
    const size_t count = self->reader_.readAt(self->position_, buffer, static_cast<size_t>(size));
    if (count == 0) {
      return AVERROR_EOF;  // never 0: FFmpeg would call again forever
    }
    self->position_ += static_cast<int64_t>(count);
    return static_cast<int>(count);
  } catch (...) {
    return self->failed();
  }
}

int64_t RemoteInput::seek(void* opaque, int64_t offset, int whence) {
  auto* self = static_cast<RemoteInput*>(opaque);
  const int64_t size = self->reader_.size();
  int64_t target = 0;
  switch (whence & ~AVSEEK_FORCE) {
    case AVSEEK_SIZE:
      return size >= 0 ? size : AVERROR(ENOSYS);
    case SEEK_SET:
      target = offset;
      break;
    case SEEK_CUR:
      target = self->position_ + offset;
      break;
    case SEEK_END:
      if (size < 0) {
        return AVERROR(ENOSYS);
      }
      target = size + offset;
      break;
    default:
      return AVERROR(EINVAL);
  }
  if (target < 0) {
    return AVERROR(EINVAL);
  }
  // Nothing is read here: the next read fetches the block it needs.
  self->position_ = target;
  return target;
}

}  // namespace framesnap
