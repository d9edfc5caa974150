// Running independent jobs on a few threads.
#pragma once

#include <cstddef>
#include <functional>

#include "util/error.h"

namespace strata {

// Runs job(0) .. job(count-1) on up to `threads` threads (the caller's among them). The first
// error is returned; once a job has failed, no new job starts (running ones finish).
Status runParallel(size_t count, unsigned threads, const std::function<Status(size_t)>& job);

}  // namespace strata
