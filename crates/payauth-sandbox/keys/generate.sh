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
