#pragma once
// Runs a call that must throw in a child process with a deadline, so that a regression that blocks
// (opening a FIFO, reading /dev/zero until memory runs out) fails the test instead of hanging it.

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <exception>
#include <functional>
#include <string>

#include <c10/util/Exception.h>

namespace nni_test {

struct ChildOutcome {
  bool finished = false;  ///< false: killed at the deadline
  bool threw = false;     ///< the call threw a std::exception
  std::string message;    ///< its message (c10::Error: without the backtrace)
};

/// Runs `call` in a forked child; the child reports whether it threw and the message over a pipe.
inline ChildOutcome run_in_child(const std::function<void()>& call, double seconds = 20) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(fds[0]);
    std::string report = "0";
    try {
      call();
    } catch (const c10::Error& error) {
      report = std::string("1") + error.what_without_backtrace();
    } catch (const std::exception& error) {
      report = std::string("1") + error.what();
    }
    const char* data = report.data();
    std::size_t left = report.size();
    while (left > 0) {
      const ssize_t written = ::write(fds[1], data, left);
      if (written <= 0) break;
      data += written;
      left -= static_cast<std::size_t>(written);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  ChildOutcome outcome;
  std::string report;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd poll_fd{fds[0], POLLIN, 0};
    if (::poll(&poll_fd, 1, static_cast<int>(left.count())) <= 0) break;
    char buffer[4096];
    const ssize_t got = ::read(fds[0], buffer, sizeof(buffer));
    if (got <= 0) {
      outcome.finished = true;  // the child closed the pipe: it is done
      break;
    }
    report.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(fds[0]);
  if (!outcome.finished) ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (outcome.finished && !report.empty()) {
    outcome.threw = report[0] == '1';
    outcome.message = report.substr(1);
  }
  return outcome;
}

}  // namespace nni_test
