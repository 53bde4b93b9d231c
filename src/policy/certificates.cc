#include "policy/certificates.h"

#include "core/strings.h"

namespace gh::policy {

void CertificateCatalog::add(std::shared_ptr<const CertificateEntity> entity) {
  by_id_[entity->id] = all_.size();
  all_.push_back(std::move(entity));
}

const CertificateEntity* CertificateCatalog::find(std::string_view id) const noexcept {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : all_[it->second].get();
}

const CertificateEntity* CertificateCatalog::find_by_thumbprint(
    std::string_view sha1_hex) const noexcept {
  for (const auto& e : all_)
    if (core::iequals(e->thumbprint_sha1, sha1_hex)) return e.get();
  return nullptr;
}

}  // namespace gh::policy
