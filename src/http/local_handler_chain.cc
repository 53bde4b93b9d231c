#include "http/local_handler_chain.h"

#include <algorithm>
#include <utility>

namespace gh::http {

LocalHandlerChain::LocalHandlerChain(std::vector<std::shared_ptr<LocalHandler>> handlers)
    : handlers_(std::move(handlers)) {}

bool LocalHandlerChain::claims(std::string_view listener, std::string_view path) const {
  for (const auto& h : handlers_)
    if (h->claims(listener, path)) return true;
  return false;
}

size_t LocalHandlerChain::max_body_bytes() const {
  size_t most = 0;
  for (const auto& h : handlers_)
    most = std::max(most, h->max_body_bytes());
  return most;
}

size_t LocalHandlerChain::max_body_bytes_for(std::string_view listener,
                                             std::string_view path) const {
  for (const auto& h : handlers_)
    if (h->claims(listener, path)) return h->max_body_bytes_for(listener, path);
  return max_body_bytes();
}

net::awaitable<LocalResponse> LocalHandlerChain::handle(const LocalRequest& request) {
  for (const auto& h : handlers_)
    if (h->claims(request.listener, request.path)) co_return co_await h->handle(request);
  LocalResponse out;
  out.status = 404;
  out.body = R"({"error":"not_found"})";
  co_return out;
}

void LocalHandlerChain::maintain() {
  for (const auto& h : handlers_)
    h->maintain();
}

void LocalHandlerChain::flush_logs() {
  for (const auto& h : handlers_)
    h->flush_logs();
}

}  // namespace gh::http
