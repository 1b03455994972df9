#!/usr/bin/env bash
# Regenerates the sandbox's TLS test PKI:
# - a CA (the certificate clients trust in tests) and a server certificate signed by it for
#   127.0.0.1, ::1, localhost and sandbox.payauth.test (a name that is not loopback, for tests
#   that reach the sandbox through a proxy);
# - a client CA and a client certificate signed by it, for the sandbox's mutual-TLS mode.
# EC P-256 keeps handshakes fast. Test material only: the private keys are public in this
# repository.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

ca() { # name, subject
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 36500 \
    -keyout "$tmp/$1-key.pem" -out "$1.pem" -subj "$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
  openssl x509 -in "$1.pem" -outform DER -out "$1.der"
}

leaf() { # name, ca, subject, extensions
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
    -keyout "$1-key.pem" -out "$tmp/$1.csr" -subj "$3"
  printf '%s\n' "$4" > "$tmp/$1.cnf"
  openssl x509 -req -in "$tmp/$1.csr" -CA "$2.pem" -CAkey "$tmp/$2-key.pem" -CAcreateserial \
    -days 36500 -sha256 -extfile "$tmp/$1.cnf" -out "$1-cert.pem"
  rm -f "$2.srl"
}

ca tls-ca "/CN=payauth-sandbox test CA/O=payauth sandbox (test only)"
leaf tls-server tls-ca "/CN=localhost/O=payauth sandbox (test only)" \
"basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost,DNS:sandbox.payauth.test"

ca tls-client-ca "/CN=payauth-sandbox test client CA/O=payauth sandbox (test only)"
leaf tls-client tls-client-ca "/CN=payauth test merchant/O=payauth sandbox (test only)" \
"basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
