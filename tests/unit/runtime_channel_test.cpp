// The runtime's parent/child channel: what the parent learns from a child that failed.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/channel_internal.h"

namespace strata::runtime::detail {
namespace {

// A child that fails while preparing, before it reads Go, exits with Go unread: the kernel then
// reports ECONNRESET to the parent before the child's Error message, which must still arrive.
TEST(Channel, ErrorOfAChildThatNeverReadGoArrives) {
  auto ch = makeChannel();
  ASSERT_TRUE(ch) << ch.error().what();
  ASSERT_TRUE(sendMessage(ch->parent.get(), MsgType::Go));
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ch->parent.reset();
    failAndExit(ch->child.get(), "user", Error::invalid("unable to find group nosuchgroup"), 125);
  }
  ch->child.reset();
  int st = 0;
  ASSERT_EQ(::waitpid(pid, &st, 0), pid);  // gone, with Go still queued for it
  auto report = collectReport(ch->parent.get(), false);
  ASSERT_TRUE(report) << report.error().what();
  ASSERT_TRUE(report->error.has_value());
  EXPECT_NE(report->error->message().find("nosuchgroup"), std::string::npos);
}

TEST(Channel, ChildThatExecsEndsTheReportWithoutError) {
  auto ch = makeChannel();
  ASSERT_TRUE(ch) << ch.error().what();
  ch->child.reset();  // every holder of the child's end is gone: the command is running
  auto report = collectReport(ch->parent.get(), false);
  ASSERT_TRUE(report) << report.error().what();
  EXPECT_FALSE(report->error.has_value());
}

}  // namespace
}  // namespace strata::runtime::detail
