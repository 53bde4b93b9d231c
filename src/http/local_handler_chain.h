#pragma once

// Several local handlers behind the gateway's one slot (the identity role and the vault role):
// the first that claims a request answers it.

#include <memory>
#include <vector>

#include "http/local_handler.h"

namespace gh::http {

class LocalHandlerChain : public LocalHandler {
 public:
  explicit LocalHandlerChain(std::vector<std::shared_ptr<LocalHandler>> handlers);

  bool claims(std::string_view listener, std::string_view path) const override;
  /// The largest of the handlers' limits; max_body_bytes_for() gives the claimer's own.
  size_t max_body_bytes() const override;
  size_t max_body_bytes_for(std::string_view listener, std::string_view path) const override;
  net::awaitable<LocalResponse> handle(const LocalRequest& request) override;
  void maintain() override;
  void flush_logs() override;

 private:
  std::vector<std::shared_ptr<LocalHandler>> handlers_;
};

}  // namespace gh::http
