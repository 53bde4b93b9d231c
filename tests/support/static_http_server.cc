#include "support/static_http_server.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <map>
#include <mutex>
#include <thread>

namespace gh::test {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

struct Document {
  std::string body;
  unsigned status = 200;
  std::string content_type;
};

}  // namespace

struct StaticHttpServer::Impl {
  asio::io_context io{1};
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  mutable std::mutex mutex;  // guards documents and counts (test thread vs server thread)
  std::map<std::string, Document, std::less<>> documents;
  std::map<std::string, size_t, std::less<>> counts;
  std::thread thread;

  void accept() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec) return;  // acceptor closed: stopping
      serve(std::move(socket));
      accept();
    });
  }

  // Synchronous on the server thread: the clients under test send their request at once.
  void serve(tcp::socket socket) {
    boost::system::error_code ec;
    boost::beast::flat_buffer buffer;
    bhttp::request<bhttp::string_body> request;
    bhttp::read(socket, buffer, request, ec);
    if (ec) return;
    std::string_view target = request.target();
    const std::string path(target.substr(0, target.find('?')));
    bhttp::response<bhttp::string_body> response;
    response.version(11);
    {
      std::lock_guard lock(mutex);
      ++counts[path];
      auto it = documents.find(path);
      if (it == documents.end()) {
        response.result(bhttp::status::not_found);
        response.set(bhttp::field::content_type, "text/plain");
        response.body() = "not found";
      } else {
        response.result(it->second.status);
        response.set(bhttp::field::content_type, it->second.content_type);
        response.body() = it->second.body;
      }
    }
    response.keep_alive(false);
    response.prepare_payload();
    bhttp::write(socket, response, ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
  }
};

StaticHttpServer::StaticHttpServer() : impl_(std::make_unique<Impl>()) {
  impl_->accept();
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

StaticHttpServer::~StaticHttpServer() {
  asio::post(impl_->io, [impl = impl_.get()] {
    boost::system::error_code ec;
    impl->acceptor.close(ec);
  });
  impl_->thread.join();
}

void StaticHttpServer::set(std::string path, std::string body, unsigned status,
                           std::string content_type) {
  std::lock_guard lock(impl_->mutex);
  impl_->documents[std::move(path)] = Document{std::move(body), status, std::move(content_type)};
}

std::string StaticHttpServer::origin() const {
  return "http://127.0.0.1:" + std::to_string(impl_->acceptor.local_endpoint().port());
}

size_t StaticHttpServer::requests(std::string_view path) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->counts.find(path);
  return it == impl_->counts.end() ? 0 : it->second;
}

}  // namespace gh::test
