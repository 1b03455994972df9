#!/usr/bin/env bash
# Regenerates the sandbox's TLS test PKI: a CA (the certificate clients trust in tests) and a
# server certificate for 127.0.0.1, ::1 and localhost signed by it. EC P-256 keeps handshakes
# fast. Test material only: the private keys are public in this repository.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 36500 \
  -keyout "$tmp/ca-key.pem" -out tls-ca.pem \
  -subj "/CN=payauth-sandbox test CA/O=payauth sandbox (test only)" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl x509 -in tls-ca.pem -outform DER -out tls-ca.der

openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
  -keyout tls-server-key.pem -out "$tmp/server.csr" -subj "/CN=localhost/O=payauth sandbox (test only)"
cat > "$tmp/ext.cnf" <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost
EXT
openssl x509 -req -in "$tmp/server.csr" -CA tls-ca.pem -CAkey "$tmp/ca-key.pem" -CAcreateserial \
  -days 36500 -sha256 -extfile "$tmp/ext.cnf" -out tls-server-cert.pem
rm -f tls-ca.srl
