// launch: starts N local data-parallel workers of train or distill, as torchrun does on one
// node (docs/distributed.md). Each worker is this same binary (/proc/self/exe) with torchrun's
// environment; the launcher waits for them, and the first one that fails ends the job: it is
// named (rank, exit code or signal) and the others are terminated.
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "distill_cli/args.h"
#include "distill_cli/commands.h"
#include "distill_cli/common.h"
#include "engine/error.h"

namespace swinscope::cli {

#ifdef SWINSCOPE_HAVE_C10D
namespace {

// The workers, for the signal handler (async-signal-safe: a fixed array, kill()).
constexpr int kMaxWorkers = 1024;
volatile pid_t g_workers[kMaxWorkers];
volatile int g_worker_count = 0;
volatile sig_atomic_t g_signal = 0;

extern "C" void forward_to_workers(int sig) {
  g_signal = sig;
  for (int i = 0; i < g_worker_count; ++i)
    if (g_workers[i] > 0) ::kill(g_workers[i], SIGTERM);
}

// A TCP port nobody listens on now: the kernel's choice for port 0 on the loopback. Another
// process could take it before rank 0 binds it; the kernel hands out ephemeral ports in turn,
// so parallel jobs (ctest -j) do not meet on one.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(std::string("launch: socket(): ") + std::strerror(errno), Error::Kind::Runtime);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  ::close(fd);
  if (!ok) throw Error(std::string("launch: cannot find a free port: ") + std::strerror(errno), Error::Kind::Runtime);
  return ntohs(a.sin_port);
}

std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* abbrev = sigabbrev_np(sig);
    return "was killed by signal " + std::to_string(sig) + (abbrev ? std::string(" (SIG") + abbrev + ")" : std::string());
  }
  return "stopped with status " + std::to_string(status);
}

// A shell's exit code for a wait status: the code, or 128 + signal.
int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return kRuntimeFailure;
}

}  // namespace
#endif

int cmd_launch(const std::vector<std::string>& argv) {
  // Everything after `--` is the worker's command line, untouched.
  std::vector<std::string> own, worker;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    if (argv[i] == "--") {
      worker.assign(argv.begin() + static_cast<long>(i) + 1, argv.end());
      break;
    }
    own.push_back(argv[i]);
  }
  Args args("launch",
            "Start N local data-parallel workers of `train` or `distill` (torchrun's conventions: each gets RANK,\n"
            "LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT), wait for them and exit with\n"
            "their status. The first worker that fails ends the job: the launcher names it (rank, exit code or\n"
            "signal) and terminates the others (SIGTERM, then SIGKILL after --grace seconds). --batch stays the\n"
            "global batch; each worker trains on batch / N of it. Without OMP_NUM_THREADS the workers get 1\n"
            "thread each (as torchrun does); pass --threads to the command to choose.",
            {{"--nproc-per-node", "N", "workers to start", "1"},
             {"--master-addr", "ADDR", "where rank 0 hosts the rendezvous store", "127.0.0.1"},
             {"--master-port", "PORT", "its TCP port (0: a free one)", "0"},
             {"--grace", "SECONDS", "after a failure, how long the others get to stop before SIGKILL", "10"}},
            "-- train|distill [options]",
            "example (2 workers of 1 thread each):\n"
            "  swinscope-cli launch --nproc-per-node 2 -- distill --teacher teacher.safetensors \\\n"
            "    --data train-images-idx3-ubyte.gz --batch 32 --threads 1 --checkpoint-dir ckpt --out student.safetensors");
  if (!args.parse(own)) return kOk;
  if (!args.positional().empty())
    throw UsageError("swinscope-cli launch: put the worker's command after `--` (found '" + args.positional()[0] + "')");
  if (worker.empty() || (worker[0] != "train" && worker[0] != "distill"))
    throw UsageError("swinscope-cli launch: give the workers' command after `--`: train or distill with its options");
#ifndef SWINSCOPE_HAVE_C10D
  throw Error("swinscope-cli launch: this build has no distributed path (Gloo's headers were not found when it was "
              "configured: install libgloo-dev, reconfigure and rebuild)",
              Error::Kind::Runtime);
#else
  const int n = args.get_int("--nproc-per-node", 1, 1, kMaxWorkers);
  const std::string addr = args.get_or("--master-addr", "127.0.0.1");
  int port = args.get_int("--master-port", 0, 0, 65535);
  if (port == 0) port = free_port();
  const int grace = args.get_int("--grace", 10, 0, 3600);
  if (n > 1 && !std::getenv("OMP_NUM_THREADS")) ::setenv("OMP_NUM_THREADS", "1", 1);

  std::vector<std::string> cmd{"swinscope-cli"};
  cmd.insert(cmd.end(), worker.begin(), worker.end());
  std::vector<char*> cargv;
  for (auto& s : cmd) cargv.push_back(s.data());
  cargv.push_back(nullptr);

  struct sigaction sa {};
  sa.sa_handler = forward_to_workers;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM}) ::sigaction(sig, &sa, nullptr);

  const pid_t launcher = ::getpid();
  std::vector<pid_t> pids;
  for (int r = 0; r < n; ++r) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      forward_to_workers(SIGTERM);
      throw Error(std::string("launch: fork(): ") + std::strerror(errno), Error::Kind::Runtime);
    }
    if (pid == 0) {
      // The worker dies with the launcher, even one killed by SIGKILL.
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != launcher) ::_exit(128 + SIGTERM);
      ::signal(SIGINT, SIG_DFL);
      ::signal(SIGTERM, SIG_DFL);
      ::setenv("RANK", std::to_string(r).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(n).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", std::to_string(n).c_str(), 1);
      ::setenv("MASTER_ADDR", addr.c_str(), 1);
      ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      ::execv("/proc/self/exe", cargv.data());
      const std::string msg = std::string("launch: cannot start a worker: execv(/proc/self/exe): ") + std::strerror(errno) + "\n";
      (void)!::write(STDERR_FILENO, msg.data(), msg.size());
      ::_exit(127);
    }
    pids.push_back(pid);
    g_workers[r] = pid;
    g_worker_count = r + 1;
  }
  std::cerr << "launch: " << n << " workers of `" << worker[0] << "` (ranks 0.." << n - 1 << "), rendezvous at " << addr << ":"
            << port << "\n";

  auto rank_of = [&](pid_t pid) {
    for (int r = 0; r < n; ++r)
      if (pids[static_cast<std::size_t>(r)] == pid) return r;
    return -1;
  };
  int running = n, result = kOk, failed_rank = -1;
  std::chrono::steady_clock::time_point kill_at{};
  bool deadline = false, killed = false;
  while (running > 0) {
    if (g_signal && !deadline) {  // the handler sent SIGTERM already
      kill_at = std::chrono::steady_clock::now() + std::chrono::seconds(grace);
      deadline = true;
    }
    int status = 0;
    // After a failure, poll so the stragglers can be killed once the grace period is over.
    const pid_t pid = ::waitpid(-1, &status, deadline ? WNOHANG : 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (pid == 0) {
      if (!killed && std::chrono::steady_clock::now() >= kill_at) {
        for (int r = 0; r < n; ++r)
          if (g_workers[r] > 0) ::kill(g_workers[r], SIGKILL);
        killed = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    const int r = rank_of(pid);
    if (r < 0) continue;
    g_workers[r] = 0;
    --running;
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (ok) continue;
    if (failed_rank < 0 && !g_signal) {
      failed_rank = r;
      result = exit_code(status);
      std::cerr << "launch: rank " << r << " (pid " << pid << ") " << describe(status) << "; stopping the other "
                << running << (running == 1 ? " worker" : " workers") << "\n";
      kill_at = std::chrono::steady_clock::now() + std::chrono::seconds(grace);
      deadline = true;
      // SIGCONT too: a stopped (hung) worker acts on SIGTERM only once it runs again.
      for (int k = 0; k < n; ++k)
        if (g_workers[k] > 0) {
          ::kill(g_workers[k], SIGTERM);
          ::kill(g_workers[k], SIGCONT);
        }
    } else if (failed_rank >= 0) {
      std::cerr << "launch: rank " << r << " (pid " << pid << ") " << describe(status) << "\n";
    }
  }
  if (g_signal) {
    std::cerr << "launch: interrupted (" << (g_signal == SIGINT ? "SIGINT" : "SIGTERM") << "); the workers were stopped\n";
    return 128 + g_signal;
  }
  if (failed_rank >= 0)
    std::cerr << "launch: the job failed (rank " << failed_rank << "); with --checkpoint-dir, --resume continues it from "
              << "its last checkpoint, with any number of workers\n";
  return result;
#endif
}

}  // namespace swinscope::cli
