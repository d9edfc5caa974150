#include "registry/server/http_conn.h"

#include <cctype>
#include <cstring>
#include <ctime>
#include <exception>

namespace strata::registry::server {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kReadAhead = 16 << 10;
constexpr size_t kMaxHeaders = 128;

bool isTchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool hasToken(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    if (lower(trim(list.substr(0, comma))) == token) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

std::string httpDate() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

struct HeadRead {
  enum State { Ok, Closed, Bad } state = Closed;
  int status = 0;  // for Bad: the status to answer with
  std::string head;
};

// The offset just past the blank line ending a request head in s (from start), or npos.
size_t headEnd(const std::string& s, size_t start) {
  const size_t a = s.find("\n\r\n", start), b = s.find("\n\n", start);
  if (a == std::string::npos && b == std::string::npos) return std::string::npos;
  if (b == std::string::npos || (a != std::string::npos && a < b)) return a + 3;
  return b + 2;
}

HeadRead readHead(Connection& c, const HttpOptions& opt) {
  const auto deadline = Clock::now() + std::chrono::seconds(opt.headerTimeoutSeconds);
  for (;;) {
    while (c.inPos < c.in.size() && (c.in[c.inPos] == '\r' || c.in[c.inPos] == '\n')) ++c.inPos;
    if (const size_t end = headEnd(c.in, c.inPos); end != std::string::npos) {
      HeadRead r{HeadRead::Ok, 0, c.in.substr(c.inPos, end - c.inPos)};
      c.inPos = end;
      return r;
    }
    if (c.in.size() - c.inPos > opt.maxHeaderBytes) return {HeadRead::Bad, 431, {}};
    // A method is a token: anything else (a TLS ClientHello on a plain port) is refused at
    // once, so a client probing for HTTPS learns the answer without waiting for a timeout.
    for (size_t i = c.inPos; i < c.in.size() && c.in[i] != ' '; ++i)
      if (!isTchar(c.in[i])) return {HeadRead::Bad, 400, {}};
    const bool started = c.inPos < c.in.size();
    if (started && Clock::now() > deadline) return {HeadRead::Bad, 408, {}};
    auto more = c.fill();
    if (!more && started && (more.error().code() == EAGAIN || more.error().code() == EWOULDBLOCK))
      return {HeadRead::Bad, 408, {}};  // the read timed out halfway through the head
    if (!more || !*more) return {};
  }
}

struct ParsedHead {
  std::string method, target, version;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Parses a request head; on failure returns the status to answer with.
std::expected<ParsedHead, int> parseHead(std::string_view head) {
  ParsedHead p;
  bool first = true;
  while (!head.empty()) {
    size_t nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    head.remove_prefix(nl == std::string_view::npos ? head.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    for (char ch : line)
      if ((static_cast<unsigned char>(ch) < 0x20 && ch != '\t') || ch == 0x7f) return std::unexpected(400);
    if (first) {
      first = false;
      const size_t s1 = line.find(' '), s2 = line.rfind(' ');
      if (s1 == std::string_view::npos || s1 == s2) return std::unexpected(400);
      p.method = std::string(line.substr(0, s1));
      p.target = std::string(line.substr(s1 + 1, s2 - s1 - 1));
      p.version = std::string(line.substr(s2 + 1));
      if (p.method.empty() || p.target.empty()) return std::unexpected(400);
      for (char ch : p.method)
        if (!isTchar(ch)) return std::unexpected(400);
      for (char ch : p.target)
        if (ch == ' ' || ch == '\t') return std::unexpected(400);
      if (p.version != "HTTP/1.1" && p.version != "HTTP/1.0")
        return std::unexpected(p.version.rfind("HTTP/", 0) == 0 ? 505 : 400);
      continue;
    }
    if (line.front() == ' ' || line.front() == '\t') return std::unexpected(400);  // obs-fold
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::unexpected(400);
    for (char ch : line.substr(0, colon))
      if (!isTchar(ch)) return std::unexpected(400);
    if (p.headers.size() >= kMaxHeaders) return std::unexpected(431);
    p.headers.emplace_back(lower(line.substr(0, colon)), std::string(trim(line.substr(colon + 1))));
  }
  if (first) return std::unexpected(400);
  return p;
}

// Content-Length / Transfer-Encoding of a request; on failure the status to answer with.
std::expected<std::pair<bool, uint64_t>, int> bodyFraming(const HttpRequest& req) {
  bool haveLength = false, chunked = false;
  uint64_t length = 0;
  for (const auto& [name, value] : req.headers) {
    if (name == "transfer-encoding") {
      if (chunked || lower(value) != "chunked") return std::unexpected(501);
      chunked = true;
    } else if (name == "content-length") {
      if (value.empty() || value.size() > 18) return std::unexpected(400);
      uint64_t v = 0;
      for (char ch : value) {
        if (ch < '0' || ch > '9') return std::unexpected(400);
        v = v * 10 + static_cast<uint64_t>(ch - '0');
      }
      if (haveLength && v != length) return std::unexpected(400);
      haveLength = true;
      length = v;
    }
  }
  if (chunked && haveLength) return std::unexpected(400);  // ambiguous framing: refuse it
  return std::make_pair(chunked, length);
}

Status writeResponse(Connection& c, const HttpRequest& req, HttpResponse& resp, bool keep,
                     uint64_t& bodyBytes) {
  const bool bodiless = resp.status == 204 || resp.status == 304 || resp.status < 200;
  const bool head = req.method == "HEAD";
  const uint64_t length = resp.file.valid() ? resp.fileLength : resp.body.size();
  std::string out = "HTTP/1.1 " + std::to_string(resp.status) + " " + statusText(resp.status) + "\r\n";
  for (const auto& [name, value] : resp.headers) out += name + ": " + value + "\r\n";
  out += "Date: " + httpDate() + "\r\n";
  if (!bodiless) out += "Content-Length: " + std::to_string(length) + "\r\n";
  if (!keep) out += "Connection: close\r\n";
  else if (req.version == "HTTP/1.0") out += "Connection: keep-alive\r\n";
  out += "\r\n";
  bodyBytes = 0;
  if (bodiless || head) return c.io->write(out.data(), out.size());
  if (!resp.file.valid()) {
    out += resp.body;
    TRYV(c.io->write(out.data(), out.size()));
    bodyBytes = length;
    return {};
  }
  TRYV(c.io->write(out.data(), out.size()));
  TRYV(c.io->sendFile(resp.file.get(), resp.fileOffset, resp.fileLength));
  bodyBytes = length;
  return {};
}

void logRequest(FILE* log, const HttpRequest& req, int status, uint64_t bytes, Clock::time_point start) {
  if (!log) return;
  std::string line = req.method.empty() ? "-" : req.method + " " + req.target + " " + req.version;
  for (char& ch : line)
    if (ch == '"' || static_cast<unsigned char>(ch) < 0x20) ch = '?';
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::fprintf(log, "%s - %s \"%s\" %d %llu %.3fs\n", req.remote.c_str(),
               req.user.empty() ? "-" : req.user.c_str(), line.c_str(), status,
               static_cast<unsigned long long>(bytes), secs);
  std::fflush(log);
}

// Answers a request the server could not parse and closes the connection.
void answerBad(Connection& c, const HttpOptions& opt, int status, HttpRequest& req) {
  HttpResponse resp;
  resp.status = status;
  resp.body = std::string(statusText(status)) + "\n";
  resp.set("Content-Type", "text/plain; charset=utf-8");
  uint64_t bytes = 0;
  if (req.version.empty()) req.version = "HTTP/1.1";
  (void)writeResponse(c, req, resp, false, bytes);
  logRequest(opt.log, req, status, bytes, Clock::now());
}

}  // namespace

Result<size_t> Connection::read(char* buf, size_t size) {
  if (inPos < in.size()) {
    const size_t n = std::min(size, in.size() - inPos);
    std::memcpy(buf, in.data() + inPos, n);
    inPos += n;
    return n;
  }
  return io->read(buf, size);
}

Result<bool> Connection::fill() {
  if (inPos == in.size()) {
    in.clear();
    inPos = 0;
  } else if (inPos > (64u << 10)) {
    in.erase(0, inPos);
    inPos = 0;
  }
  const size_t old = in.size();
  in.resize(old + kReadAhead);
  auto n = io->read(in.data() + old, kReadAhead);
  in.resize(old + (n ? *n : 0));
  if (!n) return fail(std::move(n).error());
  return *n > 0;
}

Result<std::string> Connection::readLine(size_t max) {
  for (;;) {
    const size_t nl = in.find('\n', inPos);
    if (nl != std::string::npos) {
      std::string line = in.substr(inPos, nl - inPos);
      inPos = nl + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    if (in.size() - inPos > max) return failInvalid("request line too long");
    if (!TRY(fill())) return failInvalid("client closed the connection mid-request");
  }
}

Result<size_t> BodyReader::read(char* buf, size_t size) {
  if (done_ || size == 0) return size_t(0);
  if (expect_ && !continueSent_) {
    continueSent_ = true;
    static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
    if (auto st = c_.io->write(kContinue, sizeof kContinue - 1); !st) {
      broken_ = true;
      return fail(std::move(st).error());
    }
  }
  Result<size_t> n = chunked_ ? readChunked(buf, size) : [&]() -> Result<size_t> {
    auto got = TRY(c_.read(buf, static_cast<size_t>(std::min<uint64_t>(size, left_))));
    if (got == 0) return failInvalid("client closed the connection before the end of the body");
    left_ -= got;
    done_ = left_ == 0;
    return got;
  }();
  if (!n) broken_ = true;
  return n;
}

Result<size_t> BodyReader::readChunked(char* buf, size_t size) {
  while (left_ == 0) {
    if (inChunk_) {
      if (!TRY(c_.readLine(2)).empty()) return failInvalid("malformed chunked body");
      inChunk_ = false;
    }
    std::string line = TRY(c_.readLine(1024));
    const size_t ext = line.find(';');
    std::string_view hex = trim(std::string_view(line).substr(0, ext));
    if (hex.empty() || hex.size() > 15) return failInvalid("malformed chunk size");
    uint64_t n = 0;
    for (char ch : hex) {
      const int v = std::isdigit(static_cast<unsigned char>(ch)) ? ch - '0'
                    : (ch >= 'a' && ch <= 'f')                   ? ch - 'a' + 10
                    : (ch >= 'A' && ch <= 'F')                   ? ch - 'A' + 10
                                                                 : -1;
      if (v < 0) return failInvalid("malformed chunk size");
      n = n * 16 + static_cast<uint64_t>(v);
    }
    if (n == 0) {
      for (int trailers = 0;; ++trailers) {  // trailer fields are read and ignored
        if (trailers > 64) return failInvalid("too many trailer fields");
        if (TRY(c_.readLine(8192)).empty()) break;
      }
      done_ = true;
      return size_t(0);
    }
    left_ = n;
    inChunk_ = true;
  }
  const size_t got = TRY(c_.read(buf, static_cast<size_t>(std::min<uint64_t>(size, left_))));
  if (got == 0) return failInvalid("client closed the connection before the end of the body");
  left_ -= got;
  return got;
}

Status BodyReader::drain(uint64_t limit) {
  char buf[16 << 10];
  uint64_t total = 0;
  while (!done_) {
    const size_t n = TRY(read(buf, sizeof buf));
    total += n;
    if (total > limit) return failInvalid("request body too long to skip");
  }
  return {};
}

std::string HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return "";
}

bool HttpRequest::hasBody() const { return body && !body->finished(); }

Result<size_t> HttpRequest::readBody(char* buf, size_t size) {
  if (!body) return size_t(0);
  return body->read(buf, size);
}

Result<std::string> HttpRequest::readBodyAll(size_t limit) {
  std::string out;
  char buf[16 << 10];
  for (;;) {
    const size_t n = TRY(readBody(buf, sizeof buf));
    if (n == 0) return out;
    if (out.size() + n > limit)
      return fail(Error(EFBIG, "request body larger than " + std::to_string(limit) + " bytes"));
    out.append(buf, n);
  }
}

bool serveRequest(Connection& c, const HttpOptions& opt, const HttpHandler& handler, bool stopping) {
  HeadRead h = readHead(c, opt);
  HttpRequest req;
  req.remote = c.remote;
  req.tls = opt.tls != nullptr;
  if (h.state == HeadRead::Closed) return false;
  if (h.state == HeadRead::Bad) return answerBad(c, opt, h.status, req), false;
  auto parsed = parseHead(h.head);
  if (!parsed) return answerBad(c, opt, parsed.error(), req), false;
  const auto start = Clock::now();
  req.method = std::move(parsed->method);
  req.target = std::move(parsed->target);
  req.version = std::move(parsed->version);
  req.headers = std::move(parsed->headers);
  std::string_view target = req.target;
  if (target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0) {  // absolute-form
    const size_t slash = target.find('/', target.find("//") + 2);
    target = slash == std::string_view::npos ? "/" : target.substr(slash);
  }
  const size_t q = target.find('?');
  req.path = std::string(target.substr(0, q));
  req.query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
  auto framing = bodyFraming(req);
  if (!framing) return answerBad(c, opt, framing.error(), req), false;

  BodyReader body(c, framing->first, framing->second, lower(req.header("expect")) == "100-continue");
  req.body = &body;
  const std::string connection = req.header("connection");
  bool keep = req.version == "HTTP/1.1" ? !hasToken(connection, "close") : hasToken(connection, "keep-alive");

  HttpResponse resp;
  try {
    handler(req, resp);
  } catch (const std::exception& e) {
    resp = HttpResponse();
    resp.status = 500;
    resp.body = std::string("internal error: ") + e.what() + "\n";
  }
  // The connection can carry another request only when this body has been read to its end.
  keep = keep && !stopping && !body.broken();
  if (keep && !body.finished()) keep = !body.continuePending() && body.drain(1 << 20).has_value();
  uint64_t bytes = 0;
  if (!writeResponse(c, req, resp, keep, bytes)) keep = false;
  logRequest(opt.log, req, resp.status, bytes, start);
  return keep;
}

const char* statusText(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Status";
  }
}

}  // namespace strata::registry::server
