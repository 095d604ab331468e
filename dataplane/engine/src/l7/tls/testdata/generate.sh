#!/bin/sh
# Regenerates the TLS test certificates and keys in this directory (test-only material, see README.md).
# Usage: ./generate.sh   (needs openssl 3; writes next to this script; the files are committed)
set -eu
cd "$(dirname "$0")"
DAYS=36500   # 100 years: the tests never see an expired certificate
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The CA: ECDSA P-256, self-signed.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key.pem
openssl req -x509 -new -key ca.key.pem -sha256 -days "$DAYS" -subj "/CN=edgelb test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out ca.pem

# leaf NAME SAN KEYGEN...: a leaf signed by the CA; NAME.chain.pem holds the leaf then the CA.
leaf() {
    name=$1; san=$2; shift 2
    openssl genpkey "$@" -out "$tmp/$name.key"
    openssl req -new -key "$tmp/$name.key" -subj "/CN=$name" -out "$tmp/$name.csr"
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n%s\n%s\n' \
        "extendedKeyUsage=serverAuth" "subjectAltName=$san" > "$tmp/$name.ext"
    openssl x509 -req -in "$tmp/$name.csr" -CA ca.pem -CAkey ca.key.pem -CAcreateserial \
        -CAserial "$tmp/ca.srl" -sha256 -days "$DAYS" -extfile "$tmp/$name.ext" -out "$tmp/$name.pem"
    cat "$tmp/$name.pem" ca.pem > "$name.chain.pem"
    cp "$tmp/$name.key" "$name.key.pem"
}

P256="-algorithm EC -pkeyopt ec_paramgen_curve:P-256"
# shellcheck disable=SC2086
leaf www "DNS:www.example.test" $P256
# shellcheck disable=SC2086
leaf www-v2 "DNS:www.example.test" $P256          # a rotated certificate for the same name
# shellcheck disable=SC2086
leaf apps "DNS:*.apps.example.test" $P256
# shellcheck disable=SC2086
leaf default "DNS:default.example.test" $P256
# shellcheck disable=SC2086
leaf multi "DNS:a.example.test,DNS:B.Example.Test,IP:198.18.0.1" $P256   # several SANs, one upper case
leaf p384 "DNS:p384.example.test" -algorithm EC -pkeyopt ec_paramgen_curve:P-384
leaf rsa "DNS:rsa.example.test" -algorithm RSA -pkeyopt rsa_keygen_bits:2048
leaf ed25519 "DNS:ed25519.example.test" -algorithm ED25519

# Other key encodings that Kubernetes Secrets carry: SEC1 ("EC PRIVATE KEY") and PKCS#1 ("RSA PRIVATE KEY").
openssl ec -in default.key.pem -out default.key.pem 2>/dev/null
openssl rsa -traditional -in rsa.key.pem -out rsa.key.pem 2>/dev/null

# Keys edgelb must refuse with a clear error: EC P-521 and RSA-1024 (ring cannot sign with them).
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out p521.key.pem
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa1024.key.pem
