// Shared by the tests/serve test files (one binary, test_serve): the trained world they serve, a free port, and
// `rslicer serve` as a process of its own.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "api/pipeline.h"
#include "api/simulate.h"
#include "core/errors.h"
#include "core/time.h"
#include "simulated_model.h"
#include "test_util.h"

namespace rslicer::serve_testing {

using World = testing::SimulatedModel;

// A model trained on 6 fault-free simulated hours; the next day's first 3 hours with 3 faults as OTLP files.
// Built once per test binary, in a temp dir.
inline const World& world() {
  static const World w = [] {
    const auto [normal, faulty] = testing::normal_and_next_day(6, 6, 5, 3, {"exception", "network_delay", "return"});
    return testing::train_simulated_model("rslicer-serve", normal, faulty, "otlp");
  }();
  return w;
}

// A port nobody listens on now (the kernel's pick for a socket bound to port 0, closed again).
inline int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

// `rslicer serve` as a process of its own, on a free port; waits until it answers.
struct CliServer {
  std::string base, log, pid_file;
  bool up = false;
};

inline CliServer start_cli_server(const std::string& model, const std::string& dir, const std::string& extra = "") {
  CliServer c;
  const int port = free_port();
  c.base = cat("http://127.0.0.1:", port);
  c.log = dir + "/serve.log";
  c.pid_file = dir + "/pid";
  testing::run_command(cat(testing::binary_dir(), "/bin/rslicer serve --model ", model, " --listen 127.0.0.1:", port,
                           " ", extra, " >> ", c.log, " 2>&1 & echo $! > ", c.pid_file));
  for (int i = 0; i < 150 && !c.up; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    c.up = testing::run_command(cat("curl -s -o /dev/null -w '%{http_code}' ", c.base, "/api/state")).find("200") !=
           std::string::npos;
  }
  return c;
}

// Sends `signal` (TERM, KILL, ...) and waits up to 10 s for the process to end.
inline void kill_cli_server(const CliServer& c, const char* signal) {
  testing::run_command(cat("kill -", signal, " $(cat ", c.pid_file, "); for i in $(seq 100); do kill -0 $(cat ",
                           c.pid_file, ") 2>/dev/null || break; sleep 0.1; done"));
}

}  // namespace rslicer::serve_testing
