#include "registry/progress.h"

#include "util/format.h"

namespace strata::registry {

std::string progressBar(uint64_t current, uint64_t total) {
  constexpr int kWidth = 50;
  std::string bar;
  if (total > 0) {
    const int filled = static_cast<int>(kWidth * std::min(current, total) / total);
    bar = "[" + std::string(static_cast<size_t>(filled), '=');
    if (filled < kWidth) bar += ">" + std::string(static_cast<size_t>(kWidth - filled - 1), ' ');
    bar += "] ";
  }
  std::string numbers = humanSizeWithPrecision(static_cast<double>(current), 4);
  if (total > 0) numbers += "/" + humanSizeWithPrecision(static_cast<double>(total), 4);
  if (numbers.size() < 8) numbers.insert(0, 8 - numbers.size(), ' ');
  return bar + numbers;
}

void Progress::message(const std::string& text) {
  if (!out_) return;
  std::lock_guard lock(mu_);
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
  // Lines printed before are now above this message and are no longer redrawn.
  if (tty_) lines_.clear();
}

Progress::Line& Progress::lineFor(const std::string& id) {
  for (auto& l : lines_)
    if (l.id == id) return l;
  lines_.push_back(Line{id, "", {}});
  if (tty_) std::fprintf(out_, "%s: \n", id.c_str());
  return lines_.back();
}

void Progress::redraw(size_t index) {
  const Line& l = lines_[index];
  const size_t up = lines_.size() - index;
  // Up to the layer's line, clear it, write, and back down to below the last line.
  std::fprintf(out_, "\x1b[%zuA\x1b[2K\r%s: %s\x1b[%zuB\r", up, l.id.c_str(), l.text.c_str(), up);
  std::fflush(out_);
}

void Progress::status(const std::string& id, const std::string& text) {
  if (!out_) return;
  std::lock_guard lock(mu_);
  Line& l = lineFor(id);
  if (l.text == text) return;
  l.text = text;
  if (tty_) {
    redraw(static_cast<size_t>(&l - lines_.data()));
  } else {
    std::fprintf(out_, "%s: %s\n", id.c_str(), text.c_str());
    std::fflush(out_);
  }
}

void Progress::bytes(const std::string& id, const std::string& action, uint64_t current, uint64_t total) {
  if (!out_ || !tty_) return;
  std::lock_guard lock(mu_);
  Line& l = lineFor(id);
  const auto now = std::chrono::steady_clock::now();
  // A redraw per 100 ms per layer is plenty for the eye and cheap for the terminal.
  if (current < total && now - l.drawn < std::chrono::milliseconds(100)) return;
  l.drawn = now;
  l.text = action + " " + progressBar(current, total);
  redraw(static_cast<size_t>(&l - lines_.data()));
}

}  // namespace strata::registry
