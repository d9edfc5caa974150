// A small mutational driver for the fuzz targets, so they build with GCC (the project's
// compiler) and run in `make test` without libFuzzer:
//
//   <target> [-runs=N] [-max_total_time=SECONDS] [-seed=S] [-max_len=L] CORPUS_FILE_OR_DIR...
//
// Every corpus input runs once, then N mutated inputs (or, with -max_total_time, as many as fit
// in that time) (bit flips, byte overwrites, inserted and
// deleted ranges, truncation, splices of two inputs). A crash or sanitizer report ends the
// process with a failure; otherwise it prints "fuzz: N runs" and exits 0. For coverage-guided
// fuzzing, link the same target with AFL++'s afl-g++-fast and libAFLDriver instead.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void addPath(const std::string& path, std::vector<std::string>& corpus) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    std::fprintf(stderr, "fuzz: cannot read corpus `%s`\n", path.c_str());
    std::exit(2);
  }
  if (S_ISDIR(st.st_mode)) {
    DIR* d = ::opendir(path.c_str());
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') names.push_back(e->d_name);
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& n : names) addPath(path + "/" + n, corpus);
    return;
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  corpus.push_back(ss.str());
}

std::string mutate(const std::vector<std::string>& corpus, std::mt19937_64& rng, size_t maxLen) {
  auto pick = [&](size_t n) { return n == 0 ? size_t(0) : static_cast<size_t>(rng() % n); };
  std::string s = corpus[pick(corpus.size())];
  int rounds = 1 + static_cast<int>(pick(8));
  for (int r = 0; r < rounds; ++r) {
    switch (pick(7)) {
      case 0:  // flip a bit
        if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1u << pick(8));
        break;
      case 1:  // overwrite a byte with an interesting value
        if (!s.empty()) {
          static const char vals[] = {0, '/', '.', '\xff', '0', '7', ' ', '"', '\\', ':'};
          s[pick(s.size())] = vals[pick(sizeof vals)];
        }
        break;
      case 2:  // insert random bytes
      {
        std::string ins(1 + pick(16), '\0');
        for (auto& c : ins) c = static_cast<char>(rng());
        s.insert(pick(s.size() + 1), ins);
        break;
      }
      case 3:  // delete a range
        if (!s.empty()) {
          size_t at = pick(s.size());
          s.erase(at, 1 + pick(std::min<size_t>(64, s.size() - at)));
        }
        break;
      case 4:  // truncate
        s.resize(pick(s.size() + 1));
        break;
      case 5:  // duplicate a range
        if (!s.empty()) {
          size_t at = pick(s.size());
          std::string chunk = s.substr(at, 1 + pick(64));
          s.insert(pick(s.size() + 1), chunk);
        }
        break;
      case 6:  // splice with another input
      {
        const std::string& o = corpus[pick(corpus.size())];
        s = s.substr(0, pick(s.size() + 1)) + o.substr(pick(o.size() + 1));
        break;
      }
    }
  }
  if (s.size() > maxLen) s.resize(maxLen);
  return s;
}

// The input being run, so that a crash leaves it behind in `crash-input` (in the working
// directory) for replaying: `<target> -runs=0 crash-input`.
const std::string* g_current = nullptr;

void saveCrash(int sig) {
  if (g_current) {
    int fd = ::open("crash-input", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ssize_t n = ::write(fd, g_current->data(), g_current->size());
      (void)n;
      ::close(fd);
    }
    static const char msg[] = "fuzz: crashing input saved to crash-input\n";
    ssize_t n = ::write(2, msg, sizeof msg - 1);
    (void)n;
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void run(const std::string& input) {
  g_current = &input;
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  g_current = nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) std::signal(sig, saveCrash);
  long runs = 1000;
  long maxSeconds = 0;
  uint64_t seed = 1;
  size_t maxLen = 1 << 20;
  std::vector<std::string> corpus;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("-runs=", 0) == 0) runs = std::atol(a.c_str() + 6);
    else if (a.rfind("-seed=", 0) == 0) seed = std::strtoull(a.c_str() + 6, nullptr, 10);
    else if (a.rfind("-max_len=", 0) == 0) maxLen = std::strtoul(a.c_str() + 9, nullptr, 10);
    else if (a.rfind("-max_total_time=", 0) == 0) maxSeconds = std::atol(a.c_str() + 16);
    else addPath(a, corpus);
  }
  if (corpus.empty()) corpus.push_back(std::string());
  for (const auto& c : corpus) run(c);
  std::mt19937_64 rng(seed);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(maxSeconds);
  if (maxSeconds > 0) runs = LONG_MAX;
  long i = 0;
  for (; i < runs; ++i) {
    if (maxSeconds > 0 && i % 256 == 0 && std::chrono::steady_clock::now() >= deadline) break;
    std::string m = mutate(corpus, rng, maxLen);
    run(m);
  }
  runs = i;
  std::printf("fuzz: %zu corpus inputs, %ld mutated runs, no crash\n", corpus.size(), runs);
  return 0;
}
