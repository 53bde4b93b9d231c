#include "gateway/server.h"

#include <boost/asio/signal_set.hpp>
#include <csignal>

#include "config/proxy_config_loader.h"
#include "core/event_log.h"
#include "core/references.h"
#include "gateway/proxy_session.h"
#include "net/listen_socket.h"
#include "policy/openid_cache.h"

namespace gh::gateway {

using core::log_event;
namespace {

namespace asio = net::asio;
using net::awaitable;
using net::use_tuple;

awaitable<void> accept_loop(WorkerState* ws, net::Acceptor* acceptor, std::string key) {
  for (;;) {
    auto [ec, socket] = co_await acceptor->async_accept(ws->io(), use_tuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
      // Out of descriptors or a transient error: back off briefly rather than spin.
      net::SteadyTimer pause(ws->io(), std::chrono::milliseconds(50));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    if (ws->draining()) continue;  // the socket closes as it leaves scope
    const auto& snap = *ws->snapshot();
    std::string name;
    if (auto n = snap.listener_names.find(key); n != snap.listener_names.end()) name = n->second;
    const auto& tls = snap.listener_tls;
    if (auto it = tls.find(key); it != tls.end()) {
      asio::co_spawn(ws->io(), serve_tls(ws, std::move(socket), it->second, std::move(name)),
                     asio::detached);
    } else {
      asio::co_spawn(ws->io(), serve_plain(ws, std::move(socket), std::move(name)), asio::detached);
    }
  }
}

awaitable<void> flush_loop(WorkerState* ws) {
  net::SteadyTimer timer(ws->io());
  for (;;) {
    timer.expires_after(std::chrono::milliseconds(200));
    auto [ec] = co_await timer.async_wait(use_tuple);
    if (ec) co_return;
    ws->access_log().flush();
    if (const auto& local = ws->snapshot()->local) local->flush_logs();
  }
}

core::FileStamp stat_file(const std::string& path) {
  if (core::is_reference(path)) {
    // A vault item: its current version (and enabled flag) stands in for the file's mtime.
    const std::string stamp = core::reference_stamp(path);
    if (stamp.empty()) return {};
    return {0, 0, std::hash<std::string>{}(stamp)};
  }
  return core::file_stamp(path);
}

}  // namespace

Server::Server(Options options) : options_(std::move(options)) {}

// Order matters: threads stop first; sockets (acceptors, idle pooled connections) close while
// their io_context lives; then destroying each io_context destroys the coroutine frames still
// suspended in it, which touch their WorkerState, so the states go last.
Server::~Server() {
  for (auto& w : workers_)
    w->stop();
  listeners_.clear();
  closed_acceptors_.clear();
  admin_acceptor_.reset();
  for (auto& st : states_)
    st->release_connections();
  workers_.clear();
  states_.clear();
}

Result<std::unique_ptr<Server>> Server::start(Options options) {
  std::unique_ptr<Server> s(new Server(std::move(options)));
  GH_TRY(auto cfg, config::load_proxy_config(s->options_.config_path, s->options_.env));
  if (s->options_.make_local_handler) {
    GH_TRY(auto local, s->options_.make_local_handler(cfg));
    s->local_ = std::move(local);
  }
  s->services_ = make_policy_services(core::SystemClock::instance(), cfg);
  if (s->options_.configure_policy_services) {
    s->options_.configure_policy_services(*s->services_, s->local_);
  }
  GH_TRY(auto snap, compile_snapshot(std::move(cfg), 1, s->local_, s->services_));
  std::string log_error;
  s->log_sink_ = LogSink::open(snap->config.access_log, &log_error);
  if (!s->log_sink_) return unexpected(ErrorKind::Io, log_error);

  s->workers_ = net::make_workers(snap->config.workers);
  for (auto& w : s->workers_) {
    s->metrics_.push_back(std::make_unique<WorkerMetrics>());
    s->states_.push_back(std::make_unique<WorkerState>(*w, *s->metrics_.back(), s->log_sink_));
    s->states_.back()->install(snap);
  }
  for (const auto& l : snap->config.listeners) {
    auto& sockets = s->listeners_[listener_key(l)];
    auto opened = s->open_listener(l, sockets);
    if (!opened) return unexpected(opened.error().with_context("listener '" + l.name + "'"));
  }
  if (snap->config.admin) {
    const auto& a = *snap->config.admin;
    GH_TRY(auto ep, net::resolve_endpoint(a.host, a.port));
    s->admin_acceptor_ = std::make_unique<net::Acceptor>(s->workers_[0]->io());
    auto opened = net::open_acceptor(*s->admin_acceptor_, ep);
    if (!opened) return unexpected(opened.error().with_context("admin listener"));
  }
  for (auto& [key, sockets] : s->listeners_)
    s->start_accepting(key, sockets);
  for (auto& st : s->states_)
    asio::co_spawn(st->io(), flush_loop(st.get()), asio::detached);
  if (s->admin_acceptor_ && s->options_.start_admin) {
    s->options_.start_admin(s->workers_[0]->io(), *s->admin_acceptor_, *s);
  }
  if (s->services_->subscriptions)
    s->services_->subscriptions->set_declared(snap->policies->subscriptions);
  s->current_ = snap;
  s->process_.config_generation = 1;
  s->process_.config_loaded_unix = std::chrono::duration_cast<std::chrono::seconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count();
  s->stamp_ = stat_file(s->options_.config_path);
  s->remember_watched_files();
  for (auto& w : s->workers_)
    w->start();
  // Policies that read this process's own identity role could not reach it while loading:
  // fetch again now that the listeners accept, and give the first requests keys to use.
  if (s->services_->openid) {
    s->services_->openid->refetch_missing();
    s->services_->openid->wait_for_first_fetches(std::chrono::seconds(5));
  }
  for (const auto& l : snap->config.listeners) {
    log_event(
        "info", "listening",
        {{"listener", l.name}, {"address", listener_key(l)}, {"tls", l.tls ? "true" : "false"}});
  }
  if (snap->config.admin) {
    log_event("info", "admin listening", {{"address", listener_key(*snap->config.admin)}});
  }
  log_event("info", "started",
            {{"workers", std::to_string(s->workers_.size())}, {"config", s->options_.config_path}});
  return s;
}

Result<void> Server::open_listener(const config::Listener& l, ListenerSockets& out) {
  GH_TRY(auto ep, net::resolve_endpoint(l.host, l.port));
  out.tls = l.tls.has_value();
  for (auto& w : workers_) {
    auto acceptor = std::make_unique<net::Acceptor>(w->io());
    GH_TRY_STATUS(net::open_acceptor(*acceptor, ep));
    out.per_worker.push_back(std::move(acceptor));
  }
  return {};
}

void Server::start_accepting(const std::string& key, ListenerSockets& sockets) {
  for (size_t i = 0; i < sockets.per_worker.size(); ++i) {
    asio::co_spawn(states_[i]->io(),
                   accept_loop(states_[i].get(), sockets.per_worker[i].get(), key), asio::detached);
  }
}

void Server::close_listener(ListenerSockets& sockets) {
  for (size_t i = 0; i < sockets.per_worker.size(); ++i) {
    net::Acceptor* acc = sockets.per_worker[i].get();
    asio::post(states_[i]->io(), [acc] {
      net::error_code ec;
      acc->close(ec);
    });
    closed_acceptors_.push_back(std::move(sockets.per_worker[i]));
  }
  sockets.per_worker.clear();
}

void Server::install(std::shared_ptr<const Snapshot> snap) {
  // The admin API checks new subscriptions against what this configuration declares.
  if (services_ && services_->subscriptions) {
    services_->subscriptions->set_declared(snap->policies->subscriptions);
  }
  for (auto& st : states_) {
    WorkerState* ws = st.get();
    asio::post(ws->io(), [ws, snap] { ws->install(snap); });
  }
  current_ = std::move(snap);
}

Result<void> Server::reload() {
  auto fail = [this](const Error& e) {
    process_.reloads_failed.fetch_add(1);
    log_event("error", "configuration rejected; still serving the previous one",
              {{"error", e.message}});
    return unexpected(e);
  };
  auto cfg = config::load_proxy_config(options_.config_path, options_.env);
  if (!cfg) return fail(cfg.error());
  const auto& old = current_->config;
  if (cfg->workers != old.workers) {
    log_event("warn", "a change of 'workers' takes effect at the next restart");
  }
  bool admin_changed = cfg->admin.has_value() != old.admin.has_value() ||
                       (cfg->admin && listener_key(*cfg->admin) != listener_key(*old.admin));
  if (admin_changed) log_event("warn", "a change of 'admin' takes effect at the next restart");
  uint64_t generation = current_->generation + 1;
  if (cfg->identity.has_value() != old.identity.has_value()) {
    log_event("warn", "enabling or disabling 'identity' takes effect at the next restart");
  }
  auto snap = compile_snapshot(std::move(*cfg), generation, local_, services_);
  if (!snap) return fail(snap.error());

  // New listeners are bound before anything changes, so a bind failure rejects the whole reload.
  std::map<std::string, ListenerSockets> added;
  for (const auto& l : (*snap)->config.listeners) {
    auto key = listener_key(l);
    if (listeners_.count(key) || added.count(key)) continue;
    auto opened = open_listener(l, added[key]);
    if (!opened) {
      for (auto& [k, sockets] : added)
        close_listener(sockets);
      return fail(opened.error().with_context("listener '" + l.name + "'"));
    }
  }
  std::shared_ptr<LogSink> sink;
  if ((*snap)->config.access_log != old.access_log) {
    std::string error;
    sink = LogSink::open((*snap)->config.access_log, &error);
    if (!sink) {
      for (auto& [k, sockets] : added)
        close_listener(sockets);
      return fail(Error{ErrorKind::Io, error});
    }
  }

  install(*snap);
  if (sink) {
    log_sink_ = sink;
    for (auto& st : states_) {
      WorkerState* ws = st.get();
      asio::post(ws->io(), [ws, sink] { ws->access_log().set_sink(sink); });
    }
  }
  for (auto& [key, sockets] : added) {
    auto& slot = listeners_[key];
    slot = std::move(sockets);
    start_accepting(key, slot);
  }
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    bool kept = false;
    for (const auto& l : current_->config.listeners)
      kept = kept || listener_key(l) == it->first;
    if (kept) {
      ++it;
      continue;
    }
    close_listener(it->second);
    it = listeners_.erase(it);
  }
  process_.reloads_ok.fetch_add(1);
  process_.config_generation = generation;
  process_.config_loaded_unix = std::chrono::duration_cast<std::chrono::seconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
  remember_watched_files();
  log_event("info", "configuration reloaded", {{"generation", std::to_string(generation)}});
  return {};
}

void Server::remember_watched_files() {
  watched_.clear();
  for (const auto& f : current_->policies->watched_files)
    watched_.emplace_back(f, stat_file(f));
  // TLS material is watched too: a renewed listener or backend certificate (a file replaced by
  // cert-manager, or a new vault version) is served to new connections within seconds.
  auto watch = [this](const std::string& f) {
    if (!f.empty()) watched_.emplace_back(f, stat_file(f));
  };
  for (const auto& l : current_->config.listeners) {
    if (!l.tls) continue;
    for (const auto& c : l.tls->certificates) {
      watch(c.cert);
      if (c.key != c.cert) watch(c.key);
    }
    watch(l.tls->client_ca);
  }
  for (const auto& b : current_->config.backends) {
    watch(b.tls.ca);
    watch(b.tls.client_cert);
    if (b.tls.client_key != b.tls.client_cert) watch(b.tls.client_key);
  }
}

std::string Server::metrics_text() const {
  return render_prometheus(metrics_, process_);
}

void Server::watch_config() {
  watch_timer_->expires_after(std::chrono::seconds(1));
  watch_timer_->async_wait([this](net::error_code ec) {
    if (ec || draining_) return;
    core::FileStamp now = stat_file(options_.config_path);
    if (!(now == stamp_) && now.size >= 0) {
      stamp_ = now;
      log_event("info", "configuration file changed; reloading");
      (void)reload();
    } else {
      for (auto& [file, stamp] : watched_) {
        core::FileStamp f = stat_file(file);
        if (f == stamp || f.size < 0) continue;
        log_event("info", "a file the configuration reads changed; reloading", {{"file", file}});
        stamp = f;
        (void)reload();  // on failure the current configuration keeps serving
        break;
      }
    }
    watch_config();
  });
}

void Server::schedule_maintenance() {
  if (!local_) return;
  maintenance_timer_->expires_after(std::chrono::seconds(30));
  maintenance_timer_->async_wait([this](net::error_code ec) {
    if (ec || draining_) return;
    local_->maintain();
    schedule_maintenance();
  });
}

void Server::begin_drain() {
  if (draining_.exchange(true)) return;
  log_event("info", "draining: no new connections; in-flight requests finish");
  for (auto& [key, sockets] : listeners_)
    close_listener(sockets);
  if (admin_acceptor_) {
    net::Acceptor* acc = admin_acceptor_.get();
    asio::post(workers_[0]->io(), [acc] {
      net::error_code ec;
      acc->close(ec);
    });
  }
  for (auto& st : states_) {
    WorkerState* ws = st.get();
    asio::post(ws->io(), [ws] { ws->begin_drain(); });
  }
  drain_deadline_ = std::chrono::steady_clock::now() + current_->config.timeouts.drain;
  drain_timer_ = std::make_unique<net::SteadyTimer>(control_);
  auto poll = std::make_shared<std::function<void()>>();
  *poll = [this, poll] {
    uint64_t active = 0;
    for (const auto& m : metrics_)
      active += m->connections_active.get();
    bool timed_out = std::chrono::steady_clock::now() >= drain_deadline_;
    if (active == 0 || timed_out) {
      if (timed_out && active > 0) {
        log_event("warn", "drain timeout: closing remaining connections",
                  {{"connections", std::to_string(active)}});
      }
      for (auto& w : workers_)
        w->stop();  // joins the threads: their log buffers are ours to flush now
      for (auto& st : states_)
        st->access_log().flush();
      log_event("info", "stopped");
      control_.stop();
      *poll = nullptr;  // break the self-reference
      return;
    }
    drain_timer_->expires_after(std::chrono::milliseconds(50));
    drain_timer_->async_wait([poll](net::error_code) {
      if (*poll) (*poll)();
    });
  };
  (*poll)();
}

int Server::run() {
  std::signal(SIGPIPE, SIG_IGN);
  asio::signal_set signals(control_, SIGHUP, SIGTERM, SIGINT);
  std::function<void(net::error_code, int)> on_signal = [&](net::error_code ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      log_event("info", "SIGHUP: reloading configuration");
      stamp_ = stat_file(options_.config_path);
      (void)reload();
      signals.async_wait(on_signal);
      return;
    }
    signals.async_wait(on_signal);  // a second TERM while draining is ignored, not fatal
    begin_drain();
  };
  signals.async_wait(on_signal);
  watch_timer_ = std::make_unique<net::SteadyTimer>(control_);
  watch_config();
  maintenance_timer_ = std::make_unique<net::SteadyTimer>(control_);
  schedule_maintenance();
  control_.run();
  return exit_code_;
}

}  // namespace gh::gateway
