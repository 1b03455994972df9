#!/usr/bin/env bash
# Regenerates the test keys and certificates in this folder. They are committed so
# tests never generate RSA-4096 keys (slow) and results are reproducible; rerunning
# this replaces them with new random keys, which the tests accept.
# easypay-mobile-2025.cer is NOT generated: see README.md here.
set -euo pipefail
cd "$(dirname "$0")"
subj() { echo "/CN=$1/O=payauth test fixtures"; }

for bits in 2048 4096; do
  openssl req -x509 -newkey "rsa:$bits" -nodes -sha256 -days 36500 \
    -keyout "rsa$bits-key.pem" -out "rsa$bits-cert.pem" -subj "$(subj "card-encryption test rsa$bits")"
  openssl x509 -in "rsa$bits-cert.pem" -outform DER -out "rsa$bits-cert.der"
  openssl pkey -in "rsa$bits-key.pem" -pubout -out "rsa$bits-spki.pem"
  openssl rsa -in "rsa$bits-key.pem" -RSAPublicKey_out -out "rsa$bits-pkcs1.pem" 2>/dev/null
done

# Refused inputs: a key that is too small and a key that is not RSA.
openssl req -x509 -newkey rsa:1024 -nodes -sha256 -days 36500 \
  -keyout /dev/null -out rsa1024-cert.pem -subj "$(subj "card-encryption test rsa1024")"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 36500 \
  -keyout /dev/null -out ec-p256-cert.pem -subj "$(subj "card-encryption test ec")"
