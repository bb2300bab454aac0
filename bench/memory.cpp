// nni_bench's peak-memory rows: one child process per configuration, its peak RSS from wait4().
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "bench.h"

namespace nni_bench {

namespace {

long rss_kib() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

}  // namespace

int memory_child(const std::string& model_name, int64_t batch, const std::string& what, int64_t spb, int fd) {
  const torch::Device device("cpu");
  BenchModel model = make_model(model_name, device);
  const torch::Tensor input = make_input(model, batch, device);
  const torch::Tensor labels = make_labels(batch, device);
  std::function<void()> run;
  if (what == "floor") {
    const int64_t times = spb;
    run = make_floor(model, make_copies(input, times), labels.repeat({times}));
  } else if (what == "rise") {
    // `spb` random masks in calls of 64 rows: the peak should not grow with the masks.
    run = call(std::make_shared<nni::Rise>(model.model(), nni::RiseOptions().masks(spb).rows_per_call(64)), input, labels);
  } else {
    run = call(std::make_shared<nni::SmoothGrad>(
                   nni::VanillaGradient(model.model()),
                   nni::SmoothGradOptions().samples(kPathSamples).rows_per_call(spb * batch).seed(0)),
               input, labels);
  }
  struct rusage before_usage {};
  getrusage(RUSAGE_SELF, &before_usage);
  const long before = rss_kib();
  const double ms = time_ms(run, device);
  const std::string report = fmt::format("{} {} {:.3f}\n", before, before_usage.ru_maxrss, ms);
  if (write(fd, report.data(), report.size()) < 0) return 3;
  close(fd);
  return 0;
}

MemoryRow measure_memory(const std::string& model, int64_t batch, const std::string& what, int64_t spb,
                         const Settings& settings) {
  MemoryRow row;
  row.model = model;
  row.batch = batch;
  row.what = what;
  row.samples_per_batch = spb;
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) {
    row.note = "pipe failed";
    return row;
  }
  std::vector<std::string> args = {"/proc/self/exe",   "--memory-child", model, std::to_string(batch), what,
                                   std::to_string(spb), std::to_string(pipe_fds[1]),
                                   "--blas-threads",   std::to_string(settings.blas_threads)};
  if (settings.torch_threads > 0) {
    args.push_back("--threads");
    args.push_back(std::to_string(settings.torch_threads));
  }
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    close(pipe_fds[0]);
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  std::string text;
  char buffer[256];
  ssize_t got;
  while ((got = read(pipe_fds[0], buffer, sizeof(buffer))) > 0) text.append(buffer, static_cast<size_t>(got));
  close(pipe_fds[0]);
  int status = 0;
  struct rusage usage {};
  if (pid < 0 || wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    row.note = "child failed";
    return row;
  }
  long before_kib = 0, before_max_kib = 0;
  std::istringstream(text) >> before_kib >> before_max_kib >> row.call_ms;
  row.rss_before_mib = before_kib / 1024.0;
  row.peak_rss_mib = usage.ru_maxrss / 1024.0;  // KiB on Linux
  row.peak_delta_mib = (usage.ru_maxrss - before_kib) / 1024.0;
  if (usage.ru_maxrss <= before_max_kib)
    row.note = "peak not above the child's earlier peak (the call's own peak is at most this)";
  return row;
}

}  // namespace nni_bench
