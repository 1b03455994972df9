#!/usr/bin/env bash
# Regenerates the sandbox's EasyPay card-encryption key pair: a self-signed RSA-4096
# certificate standing in for the vendor's, and its private key, which the sandbox uses to
# decrypt AccountNumber like the gateway does. Test material only: never trust it anywhere.
set -euo pipefail
cd "$(dirname "$0")"
openssl req -x509 -newkey rsa:4096 -nodes -sha256 -days 36500 \
  -keyout easypay-card-key.pem -out easypay-card-cert.pem \
  -subj "/CN=payauth-sandbox easypay card key/O=payauth sandbox (test only)"
openssl x509 -in easypay-card-cert.pem -outform DER -out easypay-card-cert.der
rm easypay-card-cert.pem

# The private_key_jwt test client (RFC 7523): a PKCS#8 RSA-2048 key and its public key. The
# sandbox verifies RS256 client assertions with the public key; tests sign with the private key.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out jwt-client-key.pem
openssl pkey -in jwt-client-key.pem -pubout -out jwt-client-public.pem
