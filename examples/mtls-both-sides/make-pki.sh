#!/bin/sh
# The test PKI of the mutual-TLS example, made with openssl only (OpenSSL 3.0 or later).
#
#   examples/mtls-both-sides/make-pki.sh DIR
#
# Two authorities, both throw-away:
#   internal-ca  the operator's own CA: the gateway's listener certificate, nginx's server
#                certificate, and (as a vault issuer) the client certificate the gateway
#                presents to nginx. nginx trusts only this CA for its callers.
#   clients-ca   the CA the partners' certificates come from (`openssl ca`, so that it can
#                issue certificates with chosen dates and publish a CRL).
# and the partners' certificates (each key stays with its partner; only certificates are shared):
#   partner-a                valid; allowed by its thumbprint on /by-thumbprint
#   partner-b                valid; allowed by subject + issuer on /by-subject
#   partner-b-expired        same subject, expired yesterday
#   partner-b-not-yet-valid  same subject, valid from 30 days on
#   partner-b-revoked        same subject, revoked (keyCompromise) in clients.crl
#   impostor                 same subject, from a self-made CA that copies clients-ca's name
# and the credential of the automation that renews the gateway's certificate in the vault:
#   operator                 RSA key pair (self-signed; registered with the identity role)
set -eu

dir=${1:?usage: make-pki.sh DIR}
mkdir -p "$dir"
cd "$dir"
umask 077  # private keys: owner only

utc() { date -u -d "$1" +%Y%m%d%H%M%SZ; }
quiet() { "$@" >/dev/null 2>openssl.err || { cat openssl.err >&2; exit 1; }; }
newkey() { quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"; }

# --- internal-ca and the two server certificates ------------------------------------------------
newkey internal-ca
quiet openssl req -x509 -key internal-ca.key -out internal-ca.pem -days 3650 \
  -subj "/O=Example Operator/CN=Example Internal CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"

server_cert() {  # name CN
  newkey "$1"
  quiet openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$2"
  printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost,IP:127.0.0.1" > "$1.ext"
  quiet openssl x509 -req -in "$1.csr" -CA internal-ca.pem -CAkey internal-ca.key \
    -CAcreateserial -days 365 -extfile "$1.ext" -out "$1.pem"
  rm -f "$1.csr" "$1.ext"
}
server_cert gateway-tls localhost   # Gatehouse's listener
server_cert backend localhost       # nginx

# --- clients-ca: an `openssl ca` database, so that dates and revocation can be chosen ----------
mkdir -p clients-ca/issued
: > clients-ca/index.txt
echo "unique_subject = no" > clients-ca/index.txt.attr  # renewals keep their subject
echo 1000 > clients-ca/serial
echo 1000 > clients-ca/crlnumber
cat > clients-ca/openssl.cnf <<'EOF'
[ ca ]
default_ca = clients_ca

[ clients_ca ]
dir              = clients-ca
database         = $dir/index.txt
serial           = $dir/serial
crlnumber        = $dir/crlnumber
new_certs_dir    = $dir/issued
certificate      = clients-ca.pem
private_key      = clients-ca.key
default_md       = sha256
default_days     = 90
default_crl_days = 30
policy           = any_name
preserve         = yes
unique_subject   = no
copy_extensions  = none
x509_extensions  = client_cert
crl_extensions   = crl_ext

[ any_name ]
organizationName = optional
commonName       = supplied

[ ca_cert ]
basicConstraints       = critical,CA:TRUE
keyUsage               = critical,keyCertSign,cRLSign
subjectKeyIdentifier   = hash

[ client_cert ]
basicConstraints       = CA:FALSE
keyUsage               = critical,digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid

[ crl_ext ]
authorityKeyIdentifier = keyid
EOF
ca() { quiet openssl ca -config clients-ca/openssl.cnf -batch -notext "$@"; }

# The CA itself, valid from a year ago (the expired certificate was issued in its lifetime).
newkey clients-ca
quiet openssl req -new -key clients-ca.key -out clients-ca.csr \
  -subj "/O=Contoso/CN=Example Clients CA"
ca -selfsign -keyfile clients-ca.key -in clients-ca.csr -extensions ca_cert \
  -startdate "$(utc '-1 year')" -enddate "$(utc '+5 years')" -out clients-ca.pem
rm -f clients-ca.csr

client_cert() {  # name subject [openssl ca date options...]
  name=$1 subject=$2
  shift 2
  newkey "$name"  # made by the partner; only the CSR reaches the CA
  quiet openssl req -new -key "$name.key" -out "$name.csr" -subj "$subject"
  ca -in "$name.csr" -out "$name.pem" "$@"
  rm -f "$name.csr"
}
client_cert partner-a "/O=Contoso/CN=partner-a"
client_cert partner-b "/O=Fabrikam/CN=partner-b"
client_cert partner-b-expired "/O=Fabrikam/CN=partner-b" \
  -startdate "$(utc '-90 days')" -enddate "$(utc '-1 day')"
client_cert partner-b-not-yet-valid "/O=Fabrikam/CN=partner-b" \
  -startdate "$(utc '+30 days')" -enddate "$(utc '+120 days')"
client_cert partner-b-revoked "/O=Fabrikam/CN=partner-b"
ca -revoke partner-b-revoked.pem -crl_reason keyCompromise
ca -gencrl -out clients.crl

# --- an impostor: a CA of its own that copies clients-ca's name --------------------------------
newkey impostor-ca
quiet openssl req -x509 -key impostor-ca.key -out impostor-ca.pem -days 365 \
  -subj "/O=Contoso/CN=Example Clients CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
newkey impostor
quiet openssl req -new -key impostor.key -out impostor.csr -subj "/O=Fabrikam/CN=partner-b"
printf '%s\n' "basicConstraints=CA:FALSE" "extendedKeyUsage=clientAuth" > impostor.ext
quiet openssl x509 -req -in impostor.csr -CA impostor-ca.pem -CAkey impostor-ca.key \
  -CAcreateserial -days 90 -extfile impostor.ext -out impostor.pem
rm -f impostor.csr impostor.ext impostor-ca.srl internal-ca.srl

# --- the renewal automation's credential: a certificate assertion needs RSA, as with Entra ID ---
quiet openssl req -x509 -newkey rsa:2048 -nodes -keyout operator.key -out operator.pem \
  -days 365 -subj "/CN=certificate-operator"
cat operator.key operator.pem > operator-bundle.pem  # what `gatehouse token get --cert` reads
rm -f openssl.err
chmod 644 ./*.pem clients.crl         # certificates and the CRL are public...
chmod 600 operator-bundle.pem         # ...except this one, which holds a key

echo "made in $dir:"
for c in partner-a partner-b partner-b-expired partner-b-not-yet-valid partner-b-revoked impostor; do
  printf '  %-24s %s\n' "$c" "$(openssl x509 -in "$c.pem" -noout -enddate -serial | tr '\n' ' ')"
done
