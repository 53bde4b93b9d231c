#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/environment.h"
#include "config/proxy_config.h"
#include "core/files.h"
#include "core/result.h"
#include "gateway/metrics.h"
#include "gateway/snapshot.h"
#include "gateway/worker_state.h"
#include "net/worker.h"
#include "policy/services.h"

namespace gh::gateway {

/// The running proxy: workers, their acceptors, the admin listener, and the control loop that
/// handles SIGHUP/file-change reload and SIGTERM/SIGINT drain.
class Server {
 public:
  /// Starts the admin listener's handler on `acceptor` (served by worker 0's loop). Injected so
  /// that gateway/ does not depend on admin/ (the layer above it).
  using AdminStarter =
      std::function<void(net::asio::io_context& io, net::Acceptor& acceptor, const Server& server)>;

  /// Builds the in-process endpoints (the identity role) from the configuration, once at
  /// start; null when the configuration enables none. Injected for the same reason.
  using LocalHandlerFactory =
      std::function<Result<std::shared_ptr<http::LocalHandler>>(const config::ProxyConfig& config)>;

  /// Completes the process-wide policy services once at start (the managed-identity token
  /// source comes from the identity role, which gateway/ must not include).
  using PolicyServicesHook = std::function<void(policy::Services& services,
                                                const std::shared_ptr<http::LocalHandler>& local)>;

  struct Options {
    std::string config_path;
    config::Environment env;
    AdminStarter start_admin;
    LocalHandlerFactory make_local_handler;
    PolicyServicesHook configure_policy_services;
  };

  /// Loads and compiles the configuration, binds every listener, starts the workers. Fails
  /// (nothing left running) on any configuration or bind error.
  static Result<std::unique_ptr<Server>> start(Options options);

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  /// Runs the control loop on the calling thread until a drain completes; returns the exit code.
  int run();

  /// Re-reads the configuration file; on any error keeps serving the current one.
  Result<void> reload();

  /// Prometheus exposition of every worker's counters.
  std::string metrics_text() const;
  /// False once draining has begun (the health endpoint answers 503 then).
  bool healthy() const noexcept { return !draining_.load(); }
  /// The process-wide policy services (the admin API publishes managed subscriptions there).
  std::shared_ptr<policy::Services> policy_services() const { return services_; }
  /// The in-process endpoints built at start, or null.
  std::shared_ptr<http::LocalHandler> local_handler() const { return local_; }

 private:
  explicit Server(Options options);

  struct ListenerSockets {
    bool tls = false;
    std::vector<std::unique_ptr<net::Acceptor>> per_worker;
  };

  Result<void> open_listener(const config::Listener& l, ListenerSockets& out);
  void start_accepting(const std::string& key, ListenerSockets& sockets);
  void install(std::shared_ptr<const Snapshot> snap);
  void close_listener(ListenerSockets& sockets);
  void begin_drain();
  void watch_config();
  void schedule_maintenance();

  Options options_;
  std::vector<std::unique_ptr<net::Worker>> workers_;
  std::vector<std::unique_ptr<WorkerMetrics>> metrics_;
  std::vector<std::unique_ptr<WorkerState>> states_;
  std::map<std::string, ListenerSockets> listeners_;  // by listener_key
  std::unique_ptr<net::Acceptor> admin_acceptor_;
  std::shared_ptr<const Snapshot> current_;
  std::shared_ptr<LogSink> log_sink_;
  ProcessMetrics process_;
  net::asio::io_context control_{1};
  std::unique_ptr<net::SteadyTimer> watch_timer_;
  std::unique_ptr<net::SteadyTimer> maintenance_timer_;
  std::shared_ptr<http::LocalHandler> local_;
  std::shared_ptr<policy::Services> services_;

  core::FileStamp stamp_;
  /// Files the current configuration reads besides itself (policies, named values,
  /// certificates): a change reloads, as a change of the configuration file does.
  std::vector<std::pair<std::string, core::FileStamp>> watched_;
  void remember_watched_files();
  std::atomic<bool> draining_{false};
  std::vector<std::unique_ptr<net::Acceptor>> closed_acceptors_;  // kept until exit: their
                                                                  // accept loops may still run
  std::chrono::steady_clock::time_point drain_deadline_{};
  std::unique_ptr<net::SteadyTimer> drain_timer_;
  int exit_code_ = 0;
};

}  // namespace gh::gateway
